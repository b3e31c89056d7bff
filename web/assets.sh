#!/usr/bin/env bash
# Copies the front-end files the portal needs from node_modules into
# web/static/vendor/. The result is committed, so building the Go binary never
# needs Node; run this (through `make assets`) only after changing the pinned
# versions in package.json.
#
# What is copied, and why:
#   dkfds/css/dkfds.min.css      the design system's compiled stylesheet
#   dkfds/img/svg-icons/*.svg,   every image the stylesheet references through
#   dkfds/img/*.png              url(), at the same relative path
#   dkfds/fonts/...              per @font-face, the first woff2/woff source a
#                                current browser picks (older formats skipped)
#   dkfds/img/all-svg-icons.svg  the icon sprite for <svg><use href="...#name">
#   dkfds/js/dkfds.min.js        the components' behaviour (a plain UMD script)
#   htmx/htmx.min.js             partial page updates
# plus the licence texts that must travel with them. Source maps are left out,
# and so are the comments pointing to them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

npm ci --ignore-scripts --no-audit --no-fund

src="node_modules/dkfds/dist"
htmx="node_modules/htmx.org/dist"
out="web/static/vendor"

rm -rf "$out"
mkdir -p "$out/dkfds/css" "$out/dkfds/js" "$out/dkfds/img" "$out/htmx"

# copy FROM TO: copy one file, creating TO's directory.
copy() {
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2"
}

# strip_map FILE: drop the trailing source-map comment, since the map is not shipped.
strip_map() {
	sed -i -E '/^\/[*\/]# sourceMappingURL=.*$/d' "$1"
}

css="$src/css/dkfds.min.css"
copy "$css" "$out/dkfds/css/dkfds.min.css"
strip_map "$out/dkfds/css/dkfds.min.css"

# Images referenced by the stylesheet (icons, placeholder logos).
grep -oE 'url\([^)]*\)' "$css" |
	sed -E 's/^url\(["'\'']?//; s/["'\'']?\)$//; s/[?#].*$//' |
	grep -vE '^data:|\.(eot|ttf|otf|woff2?)$' |
	sort -u |
	while IFS= read -r ref; do
		rel="$(realpath -m --relative-to="$src" "$src/css/$ref")"
		copy "$src/$rel" "$out/dkfds/$rel"
	done

# Fonts: in each @font-face take the first source declared as woff2 or woff,
# which is what a current browser downloads; eot/ttf fallbacks are left out.
grep -oE '@font-face\{[^}]*\}' "$css" |
	while IFS= read -r face; do
		[[ "$face" == *"url("* ]] || continue # local() only: nothing to ship
		# sed -n reads all its input, so no writer dies of SIGPIPE under pipefail.
		ref="$({ grep -oE 'url\([^)]*\) format\("woff2?"\)' <<<"$face" || true; } |
			sed -n -E '1{s/^url\(["'\'']?//; s/["'\'']?\) format.*$//; p}')"
		if [[ -z "$ref" ]]; then
			echo "assets.sh: no woff/woff2 source in: $face" >&2
			exit 1
		fi
		rel="$(realpath -m --relative-to="$src" "$src/css/$ref")"
		copy "$src/$rel" "$out/dkfds/$rel"
	done
copy "$src/fonts/IBMPlexSans/complete/woff2/license.txt" "$out/dkfds/fonts/IBMPlexSans/license.txt"

copy "$src/img/all-svg-icons.svg" "$out/dkfds/img/all-svg-icons.svg"
copy "$src/js/dkfds.min.js" "$out/dkfds/js/dkfds.min.js"
strip_map "$out/dkfds/js/dkfds.min.js"
copy "node_modules/dkfds/LICENSE.md" "$out/dkfds/LICENSE.md"

copy "$htmx/htmx.min.js" "$out/htmx/htmx.min.js"
strip_map "$out/htmx/htmx.min.js"
copy "node_modules/htmx.org/LICENSE" "$out/htmx/LICENSE"

# Record the versions copied, for reviewers of the committed files.
{
	echo "dkfds $(node -p 'require("./node_modules/dkfds/package.json").version')"
	echo "htmx.org $(node -p 'require("./node_modules/htmx.org/package.json").version')"
} >"$out/VERSIONS"

# Every url() the browser will fetch first must resolve inside the copy.
missing=0
while IFS= read -r ref; do
	if [[ ! -f "$out/dkfds/css/$ref" ]]; then
		echo "assets.sh: stylesheet reference not copied: $ref" >&2
		missing=1
	fi
done < <(grep -oE 'url\([^)]*\)' "$out/dkfds/css/dkfds.min.css" |
	sed -E 's/^url\(["'\'']?//; s/["'\'']?\)$//; s/[?#].*$//' |
	grep -vE '^data:|\.(eot|ttf|otf|woff2?)$' | sort -u)
[[ "$missing" == 0 ]]

echo "web/static/vendor: $(find "$out" -type f | wc -l) files, $(du -sh --apparent-size "$out" | cut -f1)"
