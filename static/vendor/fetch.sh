#!/usr/bin/env bash
# Re-vendor the front-end assets in static/vendor/ from the npm registry.
#
# FOR MAINTAINERS ONLY: the build and the app never run this. The app serves
# the files committed under static/vendor/ and needs no network access.
#
#   ./static/vendor/fetch.sh           fetch, verify, and (re)write every
#                                      <package>@<version>/ folder listed below
#   ./static/vendor/fetch.sh --check   fetch and verify, then compare with the
#                                      files on disk. Writes nothing. Exits 1
#                                      on any difference.
#
# Needs: bash, node + npm (any registry mirror set in your npm config is used),
#        tar, diff.
# Idempotent: each run rebuilds the listed folders from the pinned tarballs,
# so a second run changes nothing. Files outside those folders (README.md,
# manifest.json, this script) are never modified.
#
# To change a version: edit its line in PKGS (version AND integrity, taken from
# `npm view <pkg>@<ver> dist.integrity`), run this script, update manifest.json
# and README.md, then delete the old <package>@<old-version>/ folder.
set -euo pipefail

VENDOR_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODE="write"
case "${1:-}" in
  "") ;;
  --check) MODE="check" ;;
  -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# name|exact version|npm dist.integrity|files: "path/in/tarball:path/in/vendor/folder" ...
# A path ending in / copies the whole directory. *.map files are always dropped.
PKGS=(
  "leaflet|1.9.4|sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==|dist/leaflet.js:leaflet.js dist/leaflet.css:leaflet.css dist/images/:images/ LICENSE:LICENSE"
  "leaflet.fullscreen|3.0.0|sha512-81wWSUXz1ZtdneR0v5eJDWXUSx+Zo5J50WXWeydG/UcILfIEAgz/iOjZSi3p00Z9MJ/FC/P5i3CgdYuEAos0yQ==|Control.FullScreen.js:Control.FullScreen.js Control.FullScreen.css:Control.FullScreen.css icon-fullscreen.svg:icon-fullscreen.svg LICENSE:LICENSE"
  "leaflet-search|2.9.7|sha512-v7CxEbXyQXqLFjSkTpvM5i1cvmrcPOos57UmTnR94qqvVZykXyz/0SKEs3cbkFHjyrmMQ3Yk2Q5W6PvyuiSuPg==|dist/leaflet-search.min.js:dist/leaflet-search.min.js dist/leaflet-search.min.css:dist/leaflet-search.min.css images/search-icon.png:images/search-icon.png images/loader.gif:images/loader.gif license.txt:license.txt"
  "leaflet-minimap|3.6.1|sha512-6px8f6cfv1rKB6ACpL6bbUFGxipZOq4KsntJgBj9nOcW1RYa5+xFp8emOZwks9X+VtVVsQEwWwfgT1kTTL/LzA==|dist/Control.MiniMap.min.js:Control.MiniMap.min.js dist/Control.MiniMap.min.css:Control.MiniMap.min.css dist/images/:images/ LICENSE.txt:LICENSE.txt"
  "leaflet.locatecontrol|0.66.2|sha512-33xCfRydyjLfh9nGvf4kSTM0tA1EFFgM0z4uj75QkUwIc9cz0vJqWABsyDirLm1GBKeEr8/krcnc10X1YuK7oA==|dist/L.Control.Locate.min.js:L.Control.Locate.min.js dist/L.Control.Locate.min.css:L.Control.Locate.min.css LICENSE:LICENSE"
  "leaflet-draw|1.0.4|sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ==|dist/leaflet.draw.js:leaflet.draw.js dist/leaflet.draw.css:leaflet.draw.css dist/images/:images/"
  "chart.js|4.6.1|sha512-hJyniucsFmq//EvXYvJ6c6mahPoI3kaxdjVH8awTaJ/fDNWeSqqqArixMJWkWNN6fcYvPU3HneSANFNYtRi61g==|dist/chart.umd.js:chart.umd.js LICENSE.md:LICENSE.md"
  "leaflet.vectorgrid|1.3.0|sha512-kWmj1pKM+MVdo/7Mg5zsB3YrGZvo/uIuiANV9MvWUFOG+Y2xAJzrteDhoIcCgTjHSSRJ36xdeGdIQVhuWjnCZw==|dist/Leaflet.VectorGrid.bundled.min.js:Leaflet.VectorGrid.bundled.min.js"
)

# The leaflet-draw npm tarball ships no licence file. This is the upstream
# MIT-LICENSE.md of github.com/Leaflet/Leaflet.draw, verbatim, under a short
# provenance header.
write_leaflet_draw_license() {
  cat >"$1/MIT-LICENSE.md" <<'EOF'
<!-- Added while vendoring: the leaflet-draw@1.0.4 npm tarball contains no
licence file. package.json declares "license": "MIT". Text below is the
upstream https://github.com/Leaflet/Leaflet.draw/blob/master/MIT-LICENSE.md
verbatim. The dist files carry the header
"(c) 2012-2017, Jacob Toye, Jon West, Smartrak, Leaflet". -->

Copyright 2012-2016 Jacob Toye and Leaflet

Permission is hereby granted, free of charge, to any person obtaining
a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to
the following conditions:

The above copyright notice and this permission notice shall be
included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
EOF
}

# The leaflet.vectorgrid npm tarball ships no licence file either: its README's
# "Legalese" section is the licence (package.json: "Beerware"). Written here
# verbatim; the bundle also carries pbf, vector-tile, geojson-vt and topojson,
# whose licences the README names (BSD, BSD, ISC, BSD).
write_vectorgrid_license() {
  cat >"$1/LICENSE" <<'EOF'
<!-- Added while vendoring: the leaflet.vectorgrid@1.3.0 npm tarball contains
no licence file. package.json declares "license": "Beerware". Text below is
the "Legalese" section of the package's README.md, verbatim. The bundled file
also contains pbf (BSD), vector-tile (BSD), geojson-vt (ISC) and topojson
(BSD), as that README lists. -->

"THE BEER-WARE LICENSE":
<ivan@sanchezortega.es> wrote this file. As long as you retain this notice you
can do whatever you want with this stuff. If we meet some day, and you think
this stuff is worth it, you can buy me a beer in return.
EOF
}

command -v npm >/dev/null || { echo "npm not found" >&2; exit 1; }
command -v node >/dev/null || { echo "node not found" >&2; exit 1; }

TAR_OPTS=(--no-same-owner)
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  TAR_OPTS+=(--warning=no-unknown-keyword)   # npm tarballs carry NODETAR.* headers
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vendor-fetch.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tgz" "$WORK/out"

sha512_of() {
  node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

status=0
for entry in "${PKGS[@]}"; do
  IFS='|' read -r name version integrity files <<<"$entry"
  spec="$name@$version"
  dest_name="$spec"
  echo ">> $spec"

  # 1. Download the exact tarball. npm verifies it against the registry's
  #    dist.integrity; we then check the pinned value ourselves as well.
  json="$(cd "$WORK/tgz" && npm pack "$spec" --json --loglevel=error --pack-destination "$WORK/tgz")"
  tgz_file="$(node -e 'const d=JSON.parse(process.argv[1]);const e=Array.isArray(d)?d[0]:d;process.stdout.write(e.filename.replace(/^@/,"").replace(/\//g,"-"))' "$json")"
  npm_integrity="$(node -e 'const d=JSON.parse(process.argv[1]);const e=Array.isArray(d)?d[0]:d;process.stdout.write(e.integrity)' "$json")"
  got_version="$(node -e 'const d=JSON.parse(process.argv[1]);const e=Array.isArray(d)?d[0]:d;process.stdout.write(e.version)' "$json")"
  tgz="$WORK/tgz/$tgz_file"
  local_integrity="$(sha512_of "$tgz")"
  if [[ "$got_version" != "$version" || "$npm_integrity" != "$integrity" || "$local_integrity" != "$integrity" ]]; then
    echo "   INTEGRITY/VERSION MISMATCH for $spec" >&2
    echo "     pinned : $integrity" >&2
    echo "     npm    : $npm_integrity (version $got_version)" >&2
    echo "     sha512 : $local_integrity" >&2
    exit 1
  fi
  echo "   integrity ok ($integrity)"

  # 2. Extract and copy only the listed files.
  x="$WORK/x/$spec"; mkdir -p "$x"
  tar -xzf "$tgz" -C "$x" "${TAR_OPTS[@]}"
  stage="$WORK/out/$dest_name"; mkdir -p "$stage"
  for pair in $files; do
    src="${pair%%:*}"; dst="${pair#*:}"
    if [[ "$src" == */ ]]; then
      mkdir -p "$stage/$dst"
      cp -R "$x/package/$src." "$stage/$dst"
    else
      mkdir -p "$(dirname "$stage/$dst")"
      cp "$x/package/$src" "$stage/$dst"
    fi
  done
  [[ "$name" == "leaflet-draw" ]] && write_leaflet_draw_license "$stage"
  [[ "$name" == "leaflet.vectorgrid" ]] && write_vectorgrid_license "$stage"
  find "$stage" -name '*.map' -type f -delete
  find "$stage" -type d -exec chmod 755 {} +
  find "$stage" -type f -exec chmod 644 {} +

  # 3. Compare or install.
  if [[ "$MODE" == "check" ]]; then
    if diff -r "$stage" "$VENDOR_DIR/$dest_name" >/dev/null 2>&1; then
      echo "   on disk: identical"
    else
      echo "   on disk: DIFFERS (or missing): $VENDOR_DIR/$dest_name" >&2
      status=1
    fi
  else
    rm -rf "$VENDOR_DIR/$dest_name.new"
    cp -R "$stage" "$VENDOR_DIR/$dest_name.new"
    rm -rf "$VENDOR_DIR/$dest_name"
    mv "$VENDOR_DIR/$dest_name.new" "$VENDOR_DIR/$dest_name"
    echo "   written: $dest_name/"
  fi
done

# 4. Every path in manifest.json must exist.
if [[ -f "$VENDOR_DIR/manifest.json" ]]; then
  STATIC_DIR="$(dirname "$VENDOR_DIR")"
  if [[ "$MODE" == "check" ]]; then
    # In --check mode, look in the fresh build instead of on disk.
    node -e '
      const fs=require("fs"),path=require("path");
      const [manifest,out]=process.argv.slice(1);
      const m=JSON.parse(fs.readFileSync(manifest,"utf8"));let bad=0;
      for (const [k,v] of Object.entries(m)) {
        const p=path.join(out, v.replace(/^vendor\//,""));
        if (!fs.existsSync(p)) { console.error("   manifest: missing "+k+" -> "+v); bad=1; }
      }
      process.exit(bad);' "$VENDOR_DIR/manifest.json" "$WORK/out" || status=1
  else
    node -e '
      const fs=require("fs"),path=require("path");
      const [manifest,staticDir]=process.argv.slice(1);
      const m=JSON.parse(fs.readFileSync(manifest,"utf8"));let bad=0;
      for (const [k,v] of Object.entries(m)) {
        if (!fs.existsSync(path.join(staticDir,v))) { console.error("   manifest: missing "+k+" -> "+v); bad=1; }
      }
      process.exit(bad);' "$VENDOR_DIR/manifest.json" "$STATIC_DIR" || status=1
  fi
  [[ $status -eq 0 ]] && echo ">> manifest.json: all paths present"
fi

# 5. Warn about versioned folders that are no longer listed (old versions).
for d in "$VENDOR_DIR"/*@*/; do
  d="$(basename "$d")"
  listed=0
  for entry in "${PKGS[@]}"; do
    IFS='|' read -r name version _ _ <<<"$entry"
    [[ "$d" == "$name@$version" ]] && listed=1
  done
  [[ $listed -eq 0 ]] && echo "   note: $d/ is not in PKGS (old version?); delete it if unused" >&2
done

exit $status
