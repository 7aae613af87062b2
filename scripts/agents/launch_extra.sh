#!/usr/bin/env bash
# launch_extra.sh AGENT SOCKET SESSION [--no-start]
#   AGENT: qwen | aider   (installed and configured by setup_extra.sh)
#   Starts the agent kit's fake model server for AGENT on its loopback port unless something already
#   listens there, then a 120x40 tmux session SESSION on `tmux -L SOCKET` whose pane runs
#   `bash --rcfile rc/AGENT.rc -i` (private HOME, env, cwd = the scratch repo) and types the agent
#   command into it followed by Enter, as a person would. --no-start leaves the pane at `bench$ `.
#   Network isolation, as the kit does it: the fake server and the tmux server (so every pane, agent
#   and child) run in the network namespace ${BENCH_NETNS:-agentbench}, which has only `lo` (needs
#   root and iproute2). The tmux socket is a file, so `tmux -L SOCKET …` works from outside; reach the
#   fake server with `ip netns exec agentbench curl …`. BENCH_NETNS=none: plain loopback, no isolation.
#   Env: AGENT_KIT (default: ../shared/agents/kit from the project root; only read, never written),
#        BENCH_DELAY (default 6) seconds per model turn (change it later: GET /_control?delay=S).
#   Request log: $AGENTBENCH_DIR/extra/logs/fake_PORT.jsonl. Stop: tmux -L SOCKET kill-server, then
#   kill "$(cat $AGENTBENCH_DIR/extra/run/fake_PORT.pid)".
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
KIT=${AGENT_KIT:-$HERE/../../../shared/agents/kit}
[ -f "$KIT/fake_models.py" ] || { echo "launch_extra: no fake_models.py in $KIT (set AGENT_KIT)" >&2; exit 2; }
S=${AGENTBENCH_DIR:-/tmp/agentbench}
X=$S/extra
[ -d "$X" ] || { echo "launch_extra: no $X (run $HERE/setup_extra.sh first)" >&2; exit 2; }
X=$(cd "$X" && pwd -P)
AGENT=${1:?usage: launch_extra.sh AGENT SOCKET SESSION [--no-start]}
SOCK=${2:?socket name}
SESS=${3:?session name}
RC=$X/rc/$AGENT.rc
[ -f "$RC" ] || { echo "launch_extra: no $RC (run setup_extra.sh with this agent)" >&2; exit 2; }
PORT=$(bash -c "source '$RC' >/dev/null 2>&1; echo \$BENCH_PORT")
CMD=$(bash -c "source '$RC' >/dev/null 2>&1; echo \$BENCH_CMD")
# aider sends no tools, so the fake server would treat its turns as quick side requests: --delay-all
# gives every request the main-turn delay (the working state stays on screen long enough to see)
ALLDELAY=()
[ "$AGENT" = aider ] && ALLDELAY=(--delay-all)
NETNS=${BENCH_NETNS:-agentbench}
NS=()
if [ "$NETNS" != none ]; then
  if ! ip netns list | awk '{print $1}' | grep -qx "$NETNS"; then
    ip netns add "$NETNS"
  fi
  ip netns exec "$NETNS" ip link set lo up
  NS=(ip netns exec "$NETNS")
fi
mkdir -p "$X/logs" "$X/run"
listening() { "${NS[@]}" python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1',$PORT)))"; }
if ! listening; then
  # `ip netns exec` execs the command, so $! is the python process itself
  AGENTBENCH_DIR=$S "${NS[@]}" nohup python3 "$KIT/fake_models.py" --port "$PORT" --delay "${BENCH_DELAY:-6}" \
      "${ALLDELAY[@]}" --quiet --log "$X/logs/fake_$PORT.jsonl" --dump "$X/logs/dump_$PORT" \
      >"$X/logs/fake_$PORT.stderr" 2>&1 &
  echo $! > "$X/run/fake_$PORT.pid"
  for _ in $(seq 50); do listening && break; sleep 0.1; done
  listening || { echo "launch_extra: fake server did not start, see $X/logs/fake_$PORT.stderr" >&2; exit 1; }
  echo "fake model server pid $(cat "$X/run/fake_$PORT.pid") on 127.0.0.1:$PORT (netns $NETNS; log $X/logs/fake_$PORT.jsonl)"
fi
if [ "$AGENT" = aider ]; then
  # aider fetches litellm's model-price list from the internet unless its day-old cache is fresh:
  # seed that cache with the copy shipped inside the litellm wheel
  cp "$(echo "$X"/aider/lib/python3*/site-packages/litellm/model_prices_and_context_window_backup.json)" \
     "$X/homes/aider/.aider/caches/model_prices_and_context_window.json"
fi
"${NS[@]}" tmux -L "$SOCK" new-session -d -s "$SESS" -x 120 -y 40 -c "$X/proj" "bash --rcfile '$RC' -i"
tmux -L "$SOCK" display-message -p '#{pid}' > "$X/run/tmux_$SOCK.pid"
sleep 0.5
if [ "${4:-}" != "--no-start" ]; then
  tmux -L "$SOCK" send-keys -t "$SESS" "clear; $CMD" Enter
fi
echo "attach: tmux -L $SOCK attach -t $SESS"
