#!/usr/bin/env bash
# A Docker engine for tests and CI on machines with no system daemon running.
#
#   scripts/docker-engine.sh start   # prints the DOCKER_HOST to use (starting dockerd if needed)
#   scripts/docker-engine.sh env     # prints `export DOCKER_HOST=...` if an engine answers
#   scripts/docker-engine.sh stop    # stops the daemon this script started, and only that one
#
# Typical use:  export DOCKER_HOST="$(scripts/docker-engine.sh start)"
#
# An engine that already answers (DOCKER_HOST, or /var/run/docker.sock) is used as it is.
# Otherwise dockerd (Debian's docker.io) is started in the background with its own socket,
# data root and exec root under $SCRIPTEXEC_DOCKER_DIR (default /tmp/scriptexec-docker):
# overlay2, and no iptables, because in containers and CI sandboxes dockerd usually may not
# touch the host's firewall. Without iptables, bridge-networked containers cannot reach
# out; image builds that need PyPI use host networking instead: this script writes
# $SOCK.no-outbound-bridge beside the socket, and the image stage, seeing it for that
# DOCKER_HOST, builds with the host network (saying so) instead of letting pip time out.
# Messages go to stderr, so stdout is only ever the value to use.
set -euo pipefail

DIR="${SCRIPTEXEC_DOCKER_DIR:-/tmp/scriptexec-docker}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/docker.pid"
LOG="$DIR/dockerd.log"
MARKER="$SOCK.no-outbound-bridge"
START_TIMEOUT="${SCRIPTEXEC_DOCKER_START_TIMEOUT:-60}"

say() { echo "docker-engine: $*" >&2; }

# ping HOST: true when the engine at HOST (unix:///path or tcp://host:port) answers /_ping.
ping() {
    local host="$1"
    case "$host" in
        unix://*)
            local path="${host#unix://}"
            [ -S "$path" ] || return 1
            curl -fsS --max-time 2 --unix-socket "$path" http://localhost/_ping >/dev/null 2>&1
            ;;
        tcp://*)
            curl -fsS --max-time 2 "http://${host#tcp://}/_ping" >/dev/null 2>&1
            ;;
        *)
            # ssh:// and friends: let the CLI work out how to talk to it.
            DOCKER_HOST="$host" docker version >/dev/null 2>&1
            ;;
    esac
}

# The engine already reachable, if any, printed as a DOCKER_HOST value.
reachable() {
    if [ -n "${DOCKER_HOST:-}" ] && ping "$DOCKER_HOST"; then
        echo "$DOCKER_HOST"
    elif ping "unix:///var/run/docker.sock"; then
        echo "unix:///var/run/docker.sock"
    elif ping "unix://$SOCK"; then
        echo "unix://$SOCK"
    else
        return 1
    fi
}

# Written whenever the engine on $SOCK is ours, so an engine started by an older copy of
# this script gets it too; removed with the daemon.
mark_no_nat() {
    echo "dockerd runs with --iptables=false: bridge-networked builds cannot reach out" >"$MARKER"
}

ours_alive() {
    [ -f "$PIDFILE" ] || return 1
    local pid
    pid="$(cat "$PIDFILE")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

start() {
    local host
    if host="$(reachable)"; then
        say "engine already reachable at $host"
        if [ "$host" = "unix://$SOCK" ] && ours_alive; then mark_no_nat; fi
        echo "$host"
        return 0
    fi
    if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "unix://$SOCK" ]; then
        say "DOCKER_HOST=$DOCKER_HOST does not answer; starting a local engine instead"
    fi
    command -v dockerd >/dev/null || { say "dockerd not found (apt-get install docker.io)"; exit 1; }
    mkdir -p "$DIR"
    # Two `start`s at once (parallel CI jobs) must not launch two daemons on one data root.
    exec 9>"$DIR/start.lock"
    flock 9
    if ping "unix://$SOCK"; then
        if ours_alive; then mark_no_nat; fi
        echo "unix://$SOCK"
        return 0
    fi
    if ours_alive; then
        say "dockerd (pid $(cat "$PIDFILE")) is running but not answering yet; waiting"
    else
        rm -f "$PIDFILE" "$SOCK" "$MARKER"
        # setsid: the daemon must outlive this script and not get the terminal's Ctrl-C.
        setsid dockerd \
            --storage-driver=overlay2 \
            --iptables=false --ip6tables=false \
            --host="unix://$SOCK" \
            --data-root="$DIR/data" \
            --exec-root="$DIR/exec" \
            --pidfile="$PIDFILE" \
            >"$LOG" 2>&1 </dev/null &
        local launched=$!
        say "started dockerd (pid $launched), log: $LOG"
    fi
    local deadline=$((SECONDS + START_TIMEOUT))
    until ping "unix://$SOCK"; do
        if [ -n "${launched:-}" ] && ! kill -0 "$launched" 2>/dev/null; then
            say "dockerd exited during start-up; last lines of $LOG:"
            tail -n 20 "$LOG" >&2
            exit 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "dockerd did not answer within ${START_TIMEOUT}s; see $LOG"
            exit 1
        fi
        sleep 0.1
    done
    mark_no_nat
    echo "unix://$SOCK"
}

stop() {
    if ! ours_alive; then
        say "no dockerd started by this script is running (pidfile $PIDFILE)"
        rm -f "$PIDFILE" "$MARKER"
        return 0
    fi
    local pid
    pid="$(cat "$PIDFILE")"
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    # dockerd stops its containers first (up to their stop timeout), so give it a while.
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "dockerd (pid $pid) did not stop within 30s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    rm -f "$PIDFILE" "$MARKER"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env)
        if host="$(reachable)"; then
            echo "export DOCKER_HOST=$host"
        else
            say "no engine reachable; run: scripts/docker-engine.sh start"
            exit 1
        fi
        ;;
    *)
        echo "usage: $0 start|stop|env" >&2
        exit 2
        ;;
esac
