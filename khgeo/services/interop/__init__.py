"""Data in and out of khgeo: what GIS clients, files and spreadsheets exchange with it.

- OGC API – Features, framework-free (the blueprint khgeo/api/ogc.py is a thin adapter): ``ogc`` (the documents:
  landing page, collections, items), ``ogc_collections`` (a page built by PostgreSQL in one statement, the leading
  zones), ``ogc_request`` (arguments, bbox, CRS, links), ``ogc_schema`` (Part 5 schemas and queryables),
  ``ogc_openapi`` (the OpenAPI document), ``page_cache`` (pages kept in memory while the zones are unchanged).
- Import, in the order a file goes through it: ``files`` (the entry point, GDAL formats) with ``zip_safety``,
  ``encodings`` and ``tables`` (CSV/XLSX), all giving a ``source.SourceData``; then ``import_plan`` (what would
  change; CRS handling in khgeo/geo/reprojection.py) with ``import_match`` (features → zones, values → changes),
  ``import_types`` (the plan's shapes) and ``import_apply`` (one transaction, refused if the plan changed);
  ``staging`` keeps an uploaded file between the preview and the apply.
- Export: ``export`` (GeoPackage, GeoJSON, Shapefile, CSV, XLSX), ``spreadsheet`` (the one XLSX writer and the one
  CSV/formula guard), ``field_names`` (the column names files use, both ways).
"""
