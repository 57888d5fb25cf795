# shellcheck shell=bash
# deploy/local/_lib.sh - shared settings and helpers for the local stack scripts
# (up, down, kafka-* wrappers). Sourced, never executed.
#
# Environment overrides (all optional):
#   PP_KAFKA_PORT             broker listener on 127.0.0.1        (19092)
#   PP_KAFKA_CONTROLLER_PORT  KRaft controller listener           (19093)
#   PP_REDIS_PORT             redis-server on 127.0.0.1           (16379)
#   PP_RUN_DIR                pid/log/data dir     (<repo>/.run/local)
#   PP_CACHE_DIR              download cache (~/.cache/partnerpulse)
#   PP_PARTITIONS             partitions per topic                (6)
#   PP_KAFKA_HEAP             broker -Xmx                         (512m)
#   PP_REDIS_AOF              1 = redis --appendonly yes          (0)
#   PP_KAFKA_START_TIMEOUT    seconds to wait for the broker      (60)
#   PP_STOP_TIMEOUT           seconds to wait after SIGTERM       (30)

PP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

KAFKA_PORT="${PP_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${PP_KAFKA_CONTROLLER_PORT:-19093}"
REDIS_PORT="${PP_REDIS_PORT:-16379}"
PARTITIONS="${PP_PARTITIONS:-6}"
KAFKA_HEAP="${PP_KAFKA_HEAP:-512m}"
KAFKA_BOOTSTRAP="127.0.0.1:${KAFKA_PORT}"

RUN_DIR="${PP_RUN_DIR:-$PP_ROOT/.run/local}"
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$PWD/$RUN_DIR" ;; esac
RUN_DIR="${RUN_DIR%/}"
CACHE_DIR="${PP_CACHE_DIR:-${HOME:-/root}/.cache/partnerpulse}"
case "$CACHE_DIR" in /*) ;; *) CACHE_DIR="$PWD/$CACHE_DIR" ;; esac
KAFKA_LIBS="$CACHE_DIR/kafka-libs"
KAFKA_POM="$PP_ROOT/deploy/kafka/pom.xml"

# pp_paths: canonicalise RUN_DIR (if it exists) and derive the per-stack paths.
# The broker's command line contains $KAFKA_PROPS, which is how its pid is
# recognised, so up and down must agree on the exact spelling.
pp_paths() {
    [[ -d "$RUN_DIR" ]] && RUN_DIR="$(cd "$RUN_DIR" && pwd -P)"
    KAFKA_DIR="$RUN_DIR/kafka"
    KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
    KAFKA_LOG="$KAFKA_DIR/kafka.log"
    KAFKA_PROPS="$KAFKA_DIR/server.properties"
    REDIS_DIR="$RUN_DIR/redis"
    REDIS_PIDFILE="$REDIS_DIR/redis.pid"
    REDIS_LOG="$REDIS_DIR/redis.log"
}
pp_paths

PP_TOPICS=(partner.deals partner.referrals partner.engagements partner.lifecycle
           partner.alerts partner.dlq)

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi

say() { printf '%s: %s\n' "${PP_SCRIPT:-local}" "$*"; }
die() { printf '%s: ERROR: %s\n' "${PP_SCRIPT:-local}" "$*" >&2; exit 1; }

# Print the last lines of a log file to stderr (for failure messages).
show_tail() {
    local f="$1" n="${2:-40}"
    if [[ -f "$f" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2
        tail -n "$n" "$f" >&2
        printf -- '----- end of %s -----\n' "$f" >&2
    else
        printf '(no log file %s)\n' "$f" >&2
    fi
}

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# alive PID: process exists and is not a zombie (an exited daemon whose parent
# is a slow-reaping init stays a zombie for a while, and kill -0 succeeds on it).
alive() {
    local st
    st="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    st="${st##*) }"
    [[ -n "$st" && "${st%% *}" != Z ]]
}

# pid_from PIDFILE PATTERN: print the pid if the file names a live process whose
# command line contains PATTERN (guards against stale files / recycled pids).
pid_from() {
    local file="$1" pattern="$2" pid cmd
    [[ -r "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [[ -n "$pid" ]] && alive "$pid" || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmd" == *"$pattern"* ]] || return 1
    printf '%s\n' "$pid"
}
kafka_pid() { pid_from "$KAFKA_PIDFILE" "$KAFKA_PROPS"; }
# redis-server rewrites its process title to "redis-server 127.0.0.1:PORT"
redis_pid() { pid_from "$REDIS_PIDFILE" "redis-server 127.0.0.1:$REDIS_PORT"; }

redis_ping() {
    [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

kafka_libs_ready() { [[ -f "$KAFKA_LIBS/.complete" ]]; }

# Write the log4j config used by the CLI tools (warnings only, to stderr).
tools_log4j() {
    local f="$CACHE_DIR/tools-log4j.properties"
    if [[ ! -f "$f" ]]; then
        mkdir -p "$CACHE_DIR"
        cat >"$f.tmp.$$" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
        mv -f "$f.tmp.$$" "$f"
    fi
    printf '%s\n' "$f"
}

# kafka_tool CLASS ARGS...: run a Kafka CLI main class on the cached classpath.
# C1-only JIT + serial GC: these are short-lived, startup time is what counts.
kafka_tool() {
    local cls="$1"; shift
    kafka_libs_ready || die "Kafka jars not found in $KAFKA_LIBS (run deploy/local/up first)"
    local -a pre=() cds=()
    [[ -n "${PP_TOOL_TIMEOUT:-}" ]] && pre=(timeout "$PP_TOOL_TIMEOUT")   # bound the whole JVM run
    # Class-data sharing archive: the first tool run (normally the storage
    # format in `up`) dumps it at exit; later runs start about twice as fast.
    # An unusable archive is ignored by the JVM. CDS warnings would go to
    # stdout (and corrupt tool output), hence -Xlog:disable.
    local jsa="$KAFKA_LIBS/tools.jsa" dump="" rc=0
    if [[ -f "$jsa" ]]; then
        cds=(-XX:SharedArchiveFile="$jsa" -Xlog:disable -Xlog:all=error:stderr)
    else
        dump="$jsa.tmp.$$"
        cds=(-XX:ArchiveClassesAtExit="$dump" -Xlog:disable -Xlog:all=error:stderr)
    fi
    "${pre[@]}" "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        "${cds[@]}" -Dlog4j.configuration="file:$(tools_log4j)" \
        -cp "$KAFKA_LIBS/*" "$cls" "$@" || rc=$?
    if [[ -n "$dump" ]]; then
        if [[ $rc == 0 && -s "$dump" ]]; then mv -f "$dump" "$jsa"; else rm -f "$dump"; fi
    fi
    return "$rc"
}

# Run a tool, adding --bootstrap-server for this stack unless the caller gave one.
kafka_tool_bootstrap() {
    local cls="$1"; shift
    local a
    for a in "$@"; do
        if [[ "$a" == --bootstrap-server || "$a" == --bootstrap-server=* ]]; then
            kafka_tool "$cls" "$@"; return
        fi
    done
    kafka_tool "$cls" --bootstrap-server "$KAFKA_BOOTSTRAP" "$@"
}
