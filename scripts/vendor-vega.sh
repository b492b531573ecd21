#!/usr/bin/env bash
# Rebuild the vendored Vega runtime of the report page (telelake/report/assets/) from npm:
# Vega's own minified build, and vega-interpreter (its CSP-safe expression evaluator) bundled
# with esbuild into a script that adds itself to the global `vega`. Run it to move to another
# Vega release; keep the version the one vl-convert-python compiles for
# (python -c 'import vl_convert; print(vl_convert.get_vega_version())').
set -euo pipefail
VEGA=${VEGA:-6.2.0}
INTERPRETER=${INTERPRETER:-2.3.2}
ESBUILD=${ESBUILD:-0.25.12}
assets="$(cd "$(dirname "$0")/.." && pwd)/telelake/report/assets"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo '{"name": "vendor-vega", "private": true}' > package.json
npm install --no-audit --no-fund --silent "vega@$VEGA" "vega-interpreter@$INTERPRETER" "esbuild@$ESBUILD"
cat > entry.js <<'JS'
import { expressionInterpreter } from "vega-interpreter";
window.vega.expressionInterpreter = expressionInterpreter;
JS
node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=none --outfile="$assets/vega-interpreter.min.js"
grep -v '^//# sourceMappingURL=' node_modules/vega/build/vega.min.js > "$assets/vega.min.js"
echo "vendored Vega $VEGA and vega-interpreter $INTERPRETER into $assets"
