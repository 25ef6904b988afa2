"""Administrative units over time (issue 13): the 2022 units the plan speaks of beside the 2025 units of today.

- catalogue: loading the units, the old → new crosswalk and the zones' placements from data/ (``khgeo seed``)
- resolve: THE resolver for "which unit is this text?" (code, name, name with its prefix; either period)
- area: THE area-of-responsibility check (field accounts scoped to units or, as before, districts)
- succession: agencies over time (who answers today for a task of the plan)
"""
