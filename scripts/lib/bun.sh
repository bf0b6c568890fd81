# Shared by ./custos and scripts/*: install the pinned Bun from npm into .tools and the dependencies into
# node_modules when they are missing or older than the lockfile. Output goes to stderr so stdout stays clean.
BUN_VERSION=1.4.5

ensure_bun_and_deps() {
  _root=$1
  BUN="$_root/.tools/node_modules/.bin/bun"
  if [ ! -x "$BUN" ] || [ "$("$BUN" --version 2>/dev/null)" != "$BUN_VERSION" ]; then
    echo "custos: installing bun $BUN_VERSION from npm (first run)" >&2
    mkdir -p "$_root/.tools"
    npm install --prefix "$_root/.tools" --no-save --no-audit --no-fund --loglevel=error "bun@$BUN_VERSION" >&2
  fi
  if [ ! -f "$_root/node_modules/.custos-installed" ] || [ "$_root/bun.lock" -nt "$_root/node_modules/.custos-installed" ]; then
    echo "custos: installing dependencies (first run)" >&2
    (cd "$_root" && "$BUN" install --frozen-lockfile >&2)
    touch "$_root/node_modules/.custos-installed"
  fi
  export BUN
}
