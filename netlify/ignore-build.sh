#!/usr/bin/env bash
# Netlify's `ignore` command for production builds: exit 0 skips the build, exit 1 builds.
#
# The live site is built only when .github/workflows/deploy.yml asks, through the build hook,
# once the functions of the same commit are deployed: so the site never shows a catalogue
# the functions do not have yet. Netlify's own build of a push to main is skipped, and so is
# a hook for a commit that is no longer the head of main (that newer commit's run asks next).
set -euo pipefail

if [[ ${CONTEXT:-} != production ]]; then
    exit 1 # deploy previews and branch deploys always build (against the test stack)
fi
if [[ -z ${INCOMING_HOOK_BODY:-} ]]; then
    echo "comptoir: production builds come from the deploy workflow (after sam deploy); skipped"
    exit 0
fi
sha="$(sed -nE 's/.*"sha"[[:space:]]*:[[:space:]]*"([0-9a-f]{7,40})".*/\1/p' <<<"$INCOMING_HOOK_BODY")"
if [[ -z $sha || $sha != "${COMMIT_REF:-}" ]]; then
    echo "comptoir: the hook asks for ${sha:-no commit}, main is at ${COMMIT_REF:-?}; skipped"
    exit 0
fi
exit 1
