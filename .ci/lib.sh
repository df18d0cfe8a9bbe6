# .ci/lib.sh — helpers shared by .ci/services/*.sh (source it; bash only)
CI_STATE=${CI_STATE:-/tmp/legacybridge-ci}          # pid files, configs, keys, logs, *.env
mkdir -p "$CI_STATE"

log() { printf '[ci %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# alive PID: exists and is not a zombie. PID 1 on these machines reaps orphans lazily,
# so a killed daemon can linger as Z for ~1 s and `kill -0` alone says "running".
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }
running() { [[ -f $1 ]] && alive "$(cat "$1")"; }   # running PIDFILE

wait_port() { # wait_port HOST PORT SECONDS
  local i; for ((i = 0; i < $3 * 10; i++)); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.1; done
  log "port $1:$2 did not open within $3 s"; return 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_bg PIDFILE LOGFILE CMD...   (CMD must stay in the foreground; its PID is recorded)
start_bg() {
  local pidfile=$1 logfile=$2; shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# stop_pidfile PIDFILE: SIGTERM, wait up to 10 s, then SIGKILL. Only that PID, never by name.
stop_pidfile() {
  local pidfile=$1 pid i
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# apt_install PKG...: installs only what is missing; runs `apt-get update` once per CI run.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if [[ ! -f $CI_STATE/.apt-updated ]]; then
    apt-get -o DPkg::Lock::Timeout=300 update -qq && touch "$CI_STATE/.apt-updated"
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${missing[@]}" >"$CI_STATE/apt-$(date +%s%N).log" 2>&1 || {
      log "apt-get install failed"; tail -20 "$CI_STATE"/apt-*.log >&2; return 1; }
}

self_signed_cert() { # self_signed_cert DIR  -> DIR/cert.pem DIR/key.pem (CN=localhost, SAN localhost + 127.0.0.1)
  [[ -s $1/cert.pem && -s $1/key.pem ]] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
  chmod 600 "$1/key.pem"
}
