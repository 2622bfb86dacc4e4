#!/usr/bin/env bash
# Renders the enclosure for 3, 4 and 5 faces, redoing only what box.scad has outdated:
#   preview-N.png        committed: a quick OpenGL preview of both parts (needs a display or xvfb-run)
#   build/box-N-back.stl and build/box-N-front.stl   printable parts, full CGAL render (~15 s each);
#                        not committed (0.5 to 1.1 MB each, ASCII STL)
# Usage: hardware/enclosure/render.sh [png|stl|all]   (default: all)
set -euo pipefail
cd "$(dirname "$0")"
what=${1:-all}
case "$what" in png|stl|all) ;; *) echo "usage: $0 [png|stl|all]" >&2; exit 2 ;; esac
command -v openscad >/dev/null || { echo "openscad missing: apt-get install -y openscad" >&2; exit 1; }

gl=()
if [ -z "${DISPLAY:-}" ]; then
  command -v xvfb-run >/dev/null || { echo "no display and no xvfb-run: apt-get install -y xvfb xauth" >&2; exit 1; }
  gl=(xvfb-run -a)
fi

outdated() { [ ! -f "$1" ] || [ box.scad -nt "$1" ]; }

for scale in 3 4 5; do
  if [ "$what" != stl ] && outdated "preview-$scale.png"; then
    echo "preview-$scale.png"
    "${gl[@]}" openscad --quiet -o "preview-$scale.png" --imgsize=1200,900 --autocenter --viewall \
      --camera=0,0,0,50,0,20,0 --colorscheme=Tomorrow -D "scale=$scale" box.scad
  fi
  if [ "$what" != png ]; then
    mkdir -p build
    for part in back front; do
      out="build/box-$scale-$part.stl"
      outdated "$out" || continue
      echo "$out"
      openscad --quiet -o "$out" -D "scale=$scale" -D "part=\"$part\"" box.scad
    done
  fi
done
