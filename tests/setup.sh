#!/usr/bin/env bash
# Installs what the test suite needs beyond `pip install -e ".[test]"`, on Debian 12:
#   - Debian's chromium (driven by playwright) and a Java runtime (for the Nu HTML validator);
#   - npm, when there is none (Debian's, with its Node.js 18.20: the pinned tools run on it);
#   - the npm tools pinned in tests/node/package-lock.json (axe-core, lighthouse, vnu-jar).
# Idempotent: installs only what is missing. Never runs `playwright install` (it downloads a
# browser build from outside, which fails here; the tests use Debian's chromium).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_dir="$here/node"

now() { echo "${EPOCHREALTIME/./}"; }
took() { # took START LABEL
    local us=$(($(now) - $1))
    printf 'setup.sh: %s took %d.%01ds\n' "$2" $((us / 1000000)) $((us % 1000000 / 100000))
}
die() {
    echo "setup.sh: error: $*" >&2
    exit 1
}

# --- Debian packages ---------------------------------------------------------------------------
missing=()
if [[ ! -x /usr/bin/chromium && ! -x /usr/lib/chromium/chromium ]]; then
    missing+=(chromium)
fi
if ! command -v java >/dev/null 2>&1; then
    missing+=(default-jre-headless)
fi
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

if ((${#missing[@]})); then
    if ((EUID == 0)); then
        as_root=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo)
    else
        die "missing Debian packages: ${missing[*]}. Install them as root:
    apt-get update && apt-get install -y ${missing[*]}
(this user is not root and cannot use sudo without a password)"
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${missing[*]} by hand"
    start=$(now)
    echo "setup.sh: installing ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y "${missing[@]}"
    took "$start" "apt-get install ${missing[*]}"
fi

chromium=/usr/bin/chromium
[[ -x $chromium ]] || chromium=/usr/lib/chromium/chromium
[[ -x $chromium ]] || die "chromium is still missing after apt-get install"
command -v java >/dev/null 2>&1 || die "java is still missing after apt-get install"
command -v npm >/dev/null 2>&1 || die "npm is still missing after apt-get install"

# --- npm tools (tests/node) --------------------------------------------------------------------
# The oldest Node.js every package in package-lock.json accepts (lighthouse 12.8.2: 18.16,
# vnu-jar and puppeteer-core: 18); Debian 12's is 18.20.
node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
process.exit(major > 18 || (major === 18 && minor >= 16) ? 0 : 1)' ||
    die "node $(node --version) is too old for the test tools: install Node.js 18.16 or later"

lock_sum="$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)"
stamp="$node_dir/node_modules/.comptoir-lock.sha256"
tools=(
    "$node_dir/node_modules/axe-core/axe.min.js"
    "$node_dir/node_modules/vnu-jar/build/dist/vnu.jar"
    "$node_dir/node_modules/.bin/lighthouse"
)
up_to_date=true
[[ -f $stamp && "$(cat "$stamp")" == "$lock_sum" ]] || up_to_date=false
for tool in "${tools[@]}"; do
    [[ -e $tool ]] || up_to_date=false
done

if $up_to_date; then
    echo "setup.sh: tests/node/node_modules matches package-lock.json"
else
    start=$(now)
    # --ignore-scripts: the only install script (vnu-jar's) would download a Java runtime from
    # outside when none is found; Debian's Java is used instead.
    (cd "$node_dir" && npm ci --no-audit --no-fund --ignore-scripts)
    for tool in "${tools[@]}"; do
        [[ -e $tool ]] || die "npm ci did not install $tool"
    done
    echo "$lock_sum" >"$stamp"
    took "$start" "npm ci"
fi

echo "setup.sh: $("$chromium" --version 2>/dev/null | tail -n 1)"
echo "setup.sh: $(java -version 2>&1 | head -n 1)"
echo "setup.sh: node $(node --version), test tools in tests/node/node_modules"
