#!/usr/bin/env bash
# Vendor pinned front-end assets from the npm registry.
#
#   static/vendor/dkfds/              DKFDS (Det Fælles Designsystem) run-time files
#   tests/browser/vendor/axe-core/    axe-core (test-only, not served)
#
# Only `npm pack` is used (in a temp dir); no node_modules end up in the repo.
# Idempotent: the vendored folders are removed and recreated on every run.
set -euo pipefail

DKFDS_VERSION=11.2.0
AXE_VERSION=4.14.1

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DKFDS_DEST="$REPO_ROOT/static/vendor/dkfds"
AXE_DEST="$REPO_ROOT/tests/browser/vendor/axe-core"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

log() { printf '[vendor_frontend] %s\n' "$*"; }

fetch() { # fetch <name> <version> -> extracts into $TMP/<name>/package
    local name="$1" version="$2" tarball
    log "npm pack $name@$version"
    tarball="$(cd "$TMP" && npm pack --silent "$name@$version" | tail -n 1)"
    mkdir -p "$TMP/$name"
    tar -xzf "$TMP/$tarball" -C "$TMP/$name"
    local got
    got="$(node -p 'require(process.argv[1]).version' "$TMP/$name/package/package.json")"
    if [[ "$got" != "$version" ]]; then
        echo "ERROR: $name: expected version $version, got '$got'" >&2
        exit 1
    fi
}

fetch dkfds "$DKFDS_VERSION"
fetch axe-core "$AXE_VERSION"

# --------------------------------------------------------------------------- DKFDS
SRC="$TMP/dkfds/package/dist"
CSS_FILES=(dkfds.min.css)          # main theme; dkfds-borgerdk / dkfds-virkdk also exist
JS_FILES=(dkfds.min.js)

rm -rf "$DKFDS_DEST"
mkdir -p "$DKFDS_DEST/css" "$DKFDS_DEST/js" "$DKFDS_DEST/fonts" "$DKFDS_DEST/img"

# css + js, with their source maps (the files end in a sourceMappingURL comment,
# which ManifestStaticFilesStorage resolves, so the .map must exist).
for f in "${CSS_FILES[@]}"; do
    cp "$SRC/css/$f" "$DKFDS_DEST/css/"
    if [[ -f "$SRC/css/$f.map" ]]; then cp "$SRC/css/$f.map" "$DKFDS_DEST/css/"; fi
done
for f in "${JS_FILES[@]}"; do
    cp "$SRC/js/$f" "$DKFDS_DEST/js/"
    if [[ -f "$SRC/js/$f.map" ]]; then cp "$SRC/js/$f.map" "$DKFDS_DEST/js/"; fi
done

# images: single-icon SVGs (referenced by the CSS), the SVG sprite
# (all-svg-icons.svg, for <svg><use href="...#id">) and logos/placeholders.
cp -R "$SRC/img/." "$DKFDS_DEST/img/"

# fonts: copy exactly the font files that the CSS url()s reference (woff2 + the
# woff/eot/ttf fallbacks it lists), keeping the ../fonts/... layout, plus licences.
list_css_urls() { # prints the relative url() targets of the given css files
    grep -ohE 'url\([^)]*\)' "$@" \
        | sed -E 's/^url\(//; s/\)$//; s/^["'\'']//; s/["'\'']$//' \
        | grep -vE '^(data:|https?:|//|#)' \
        | sed -E 's/[?#].*$//' \
        | sort -u
}
while IFS= read -r url; do
    case "$url" in
        ../fonts/*)
            rel="${url#../}"
            mkdir -p "$DKFDS_DEST/$(dirname "$rel")"
            cp "$SRC/$rel" "$DKFDS_DEST/$rel"
            ;;
    esac
done < <(cd "$DKFDS_DEST/css" && list_css_urls "${CSS_FILES[@]}")

# all IBM Plex Sans TTFs (for embedding in PDFs later), if the package ships them.
TTF_DIR="fonts/IBMPlexSans/complete/ttf"
if compgen -G "$SRC/$TTF_DIR/*.ttf" > /dev/null; then
    mkdir -p "$DKFDS_DEST/$TTF_DIR"
    cp "$SRC/$TTF_DIR/"*.ttf "$DKFDS_DEST/$TTF_DIR/"
    log "copied $(ls "$DKFDS_DEST/$TTF_DIR/"*.ttf | wc -l) IBM Plex Sans TTF files to $TTF_DIR/"
else
    log "no IBM Plex Sans TTF files shipped in dkfds@$DKFDS_VERSION"
fi

# font licence (OFL-1.1) next to every copied font folder + at top level.
while IFS= read -r d; do
    rel="${d#"$DKFDS_DEST"/}"
    if [[ -f "$SRC/$rel/license.txt" ]]; then cp "$SRC/$rel/license.txt" "$d/license.txt"; fi
done < <(find "$DKFDS_DEST/fonts" -mindepth 1 -type d)
OFL="$(find "$SRC/fonts" -name license.txt | sort | head -n 1)"
if [[ -n "$OFL" ]]; then cp "$OFL" "$DKFDS_DEST/LICENSE-IBMPlexSans-OFL.txt"; fi

# package licence (MIT + notes on OFL fonts and Apache-2.0 icons)
for lic in "$TMP/dkfds/package/"LICENSE* "$TMP/dkfds/package/"LICENCE*; do
    if [[ -f "$lic" ]]; then cp "$lic" "$DKFDS_DEST/"; fi
done
printf '%s\n' "$DKFDS_VERSION" > "$DKFDS_DEST/VERSION"

# check: every url() and sourceMappingURL in the copied CSS/JS resolves to a copied file
missing=0
while IFS= read -r url; do
    if [[ ! -f "$DKFDS_DEST/css/$url" ]]; then
        echo "ERROR: css url($url) does not resolve" >&2
        missing=1
    fi
done < <(cd "$DKFDS_DEST/css" && list_css_urls "${CSS_FILES[@]}")
for f in "$DKFDS_DEST"/css/*.css "$DKFDS_DEST"/js/*.js; do
    while IFS= read -r map; do
        if [[ ! -f "$(dirname "$f")/$map" ]]; then
            echo "ERROR: $(basename "$f"): sourceMappingURL=$map does not resolve" >&2
            missing=1
        fi
    done < <(grep -ohE 'sourceMappingURL=[^ *]+' "$f" | sed 's/^sourceMappingURL=//' || true)
done
if [[ "$missing" -ne 0 ]]; then
    echo "ERROR: vendored DKFDS has unresolved references" >&2
    exit 1
fi
log "all $(cd "$DKFDS_DEST/css" && list_css_urls "${CSS_FILES[@]}" | wc -l) css url() targets resolve"

# --------------------------------------------------------------------------- axe-core
AXE_SRC="$TMP/axe-core/package"
rm -rf "$AXE_DEST"
mkdir -p "$AXE_DEST"
cp "$AXE_SRC/axe.min.js" "$AXE_DEST/"
for lic in "$AXE_SRC/"LICENSE*; do
    if [[ -f "$lic" ]]; then cp "$lic" "$AXE_DEST/"; fi
done
printf '%s\n' "$AXE_VERSION" > "$AXE_DEST/VERSION"

log "dkfds@$DKFDS_VERSION -> ${DKFDS_DEST#"$REPO_ROOT"/} ($(du -sh "$DKFDS_DEST" | cut -f1), $(find "$DKFDS_DEST" -type f | wc -l) files)"
log "axe-core@$AXE_VERSION -> ${AXE_DEST#"$REPO_ROOT"/} ($(du -sh "$AXE_DEST" | cut -f1), $(find "$AXE_DEST" -type f | wc -l) files)"
