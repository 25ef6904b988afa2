"""Site clearance parcel by parcel: parcels, the stages of their recovery, legal timers, tiles, import and export.

identity.py gives a parcel its identifier (Circular 19/2026: geohash-12 of a point inside it).
"""
