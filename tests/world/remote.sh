# The programs of a host of the fake world (see tests/verify_world.rs),
# sourced by the fake ssh before the remote command runs. $HOSTROOT stands
# for the host's /, $HOSTSTATE holds what its systemd, Puppet agent and
# processes are:
#
#   units/<unit>        active, inactive or failed (none: inactive)
#   enabled/<unit>      the unit starts at boot
#   unitfile/<unit>     the unit is installed; for wso2am, the product home
#                       its ExecStart runs
#   run                 the product home the running JVM was started from
#   envfile             a digest of /etc/wso2am/apim.env
#   agent/disabled      why the agent is disabled (`puppet agent --disable`)
#   agent/environment   the agent's environment (none: production)
#
# The agent applies the Hiera data of its node from the Puppet server's
# environment folder (the catalog says what it holds), as the generated
# module does: the pack is unpacked once into its product home, the
# drivers and keystores must be in /opt/wso2/packs, the unit is written
# (a daemon-reload, no restart), the service runs or stops as
# apim::running says and restarts only when apim.env changes (its only
# subscription); on a load balancer host nginx.conf and apim-lb are written
# and nginx runs, reloaded when nginx.conf changes.

# shellcheck source=lib.sh
. "$WORLD/fakes/lib.sh"
R=$HOSTROOT
H=$HOSTSTATE

# The host's files: paths of / live under $HOSTROOT.
_map() {
  local a
  _mapped=()
  for a in "$@"; do
    case $a in
      /dev/*) _mapped+=("$a") ;;
      /*) _mapped+=("$R$a") ;;
      *) _mapped+=("$a") ;;
    esac
  done
}
test() { _map "$@"; builtin test "${_mapped[@]}"; }
sed() { _map "$@"; command sed "${_mapped[@]}"; }
find() { _map "$@"; command find "${_mapped[@]}"; }
rm() { _map "$@"; command rm "${_mapped[@]}"; }
ls() {
  _map "$@"
  local a out=() status=0 m
  for a in "${_mapped[@]}"; do
    case $a in
      -*) out+=("$a") ;;
      *)
        mapfile -t m < <(compgen -G "$a")
        if [ ${#m[@]} = 0 ]; then
          echo "ls: cannot access '${a#"$R"}': No such file or directory" >&2
          status=2
        else
          out+=("${m[@]}")
        fi ;;
    esac
  done
  [ $status = 0 ] || return $status
  command ls "${out[@]}"
}
# No root here: ownership is not modelled.
install() {
  local args=()
  while [ $# -gt 0 ]; do
    case $1 in
      -o | -g) shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  _map "${args[@]}"
  command install "${_mapped[@]}"
}

sudo() {
  while [ $# -gt 0 ]; do
    case $1 in
      -u) shift 2 ;;
      -*) shift ;;
      *) break ;;
    esac
  done
  case $1 in
    sh)
      [ "$2" = -c ] || { echo "fake sudo: unsupported: $*" >&2; return 3; }
      local script=$3
      shift 3
      bash -c '. "$WORLD/fakes/remote.sh"; eval "$1"' sh "$script" "$@"
      return ;;
    /usr/local/bin/apim-lb)
      shift
      if [ ! -f "$R/usr/local/bin/apim-lb" ]; then
        echo "sudo: /usr/local/bin/apim-lb: command not found" >&2
        return 1
      fi
      LB_CONF=$R/etc/nginx/nginx.conf LB_RELOAD=: sh "$R/usr/local/bin/apim-lb" "$@"
      return ;;
  esac
  "$@"
}

unit_state() { get "$H/units/$1" inactive; }

# The JVM of the product: its command line (as pgrep -f sees it).
jvm() {
  [ "$(unit_state wso2am)" = active ] || return 1
  printf '/usr/lib/jvm/bin/java -Xms2048m -Dcarbon.home=%s -Dwso2.server.standalone=true org.wso2.carbon.bootstrap.Bootstrap\n' "$(get "$H/run")"
}

unit_start() {
  local unit=${1%.service}
  if [ ! -f "$H/unitfile/$unit" ]; then
    echo "Failed to start $unit.service: Unit $unit.service not found." >&2
    return 5
  fi
  [ "$(unit_state "$unit")" = active ] && return 0
  if [ "$unit" = wso2am ]; then
    local home
    home=$(get "$H/unitfile/wso2am")
    if [ ! -d "$R$home" ]; then
      put "$H/units/wso2am" failed
      echo "Job for wso2am.service failed because the control process exited with error code." >&2
      return 1
    fi
    put "$H/run" "$home"
  fi
  put "$H/units/$unit" active
}

unit_stop() {
  local unit=${1%.service}
  [ -f "$H/unitfile/$unit" ] || [ -f "$H/units/$unit" ] || {
    echo "Failed to stop $unit.service: Unit $unit.service not loaded." >&2
    return 5
  }
  put "$H/units/$unit" inactive
}

systemctl() {
  local verb=$1
  shift
  case $verb in
    show)
      local prop='' value=0 unit=
      while [ $# -gt 0 ]; do
        case $1 in
          -p) prop=$2; shift 2 ;;
          --value) value=1; shift ;;
          *) unit=${1%.service}; shift ;;
        esac
      done
      [ $value = 1 ] || { echo "fake systemctl: unsupported: show without --value" >&2; return 3; }
      case $prop in
        ActiveState) unit_state "$unit"; echo ;;
        Result) get "$H/results/$unit" success; echo ;;
        *) echo "fake systemctl: unsupported property $prop" >&2; return 3 ;;
      esac ;;
    start) unit_start "$1" ;;
    stop) unit_stop "$1" ;;
    restart) unit_stop "$1" && put "$H/units/${1%.service}" inactive && unit_start "$1" ;;
    reload) [ "$(unit_state "${1%.service}")" = active ] || { echo "nginx.service is not active, cannot reload." >&2; return 1; } ;;
    enable | disable)
      local now=0
      [ "$1" = --now ] && { now=1; shift; }
      local unit=${1%.service}
      if [ ! -f "$H/unitfile/$unit" ]; then
        echo "Failed to $verb unit: Unit file $unit.service does not exist." >&2
        return 1
      fi
      if [ "$verb" = enable ]; then
        put "$H/enabled/$unit" 1
        [ $now = 0 ] || unit_start "$unit"
      else
        command rm -f "$H/enabled/$unit"
        [ $now = 0 ] || unit_stop "$unit"
      fi ;;
    daemon-reload) ;;
    *) echo "fake systemctl: unsupported: systemctl $verb $*" >&2; return 3 ;;
  esac
}

# The journal of a unit: the artifact sync logs its rounds (its mode is
# the unit file's) while it runs, unless marked hung.
journalctl() {
  local unit=''
  while [ $# -gt 0 ]; do
    case $1 in
      -u) unit=${2%.service}; shift 2 ;;
      --no-pager) shift ;;
      *) echo "fake journalctl: unsupported: journalctl $*" >&2; return 3 ;;
    esac
  done
  [ "$unit" = apim-artifact-sync ] || { echo "fake journalctl: unsupported unit $unit" >&2; return 3; }
  if [ "$(unit_state "$unit")" != active ] || hung artifact-sync "$FAKE_HOST"; then
    echo "-- No entries --"
    return 0
  fi
  case $(get "$H/unitfile/$unit") in
    push) echo "Jan 01 00:00:00 $FAKE_HOST sh[4343]: 2026-01-01T00:00:00Z artifact-sync push: pushed" ;;
    *) echo "Jan 01 00:00:00 $FAKE_HOST sh[4343]: 2026-01-01T00:00:00Z artifact-sync pull: pulled" ;;
  esac
}

pgrep() {
  local user='' pattern=
  while [ $# -gt 0 ]; do
    case $1 in
      -u) user=$2; shift 2 ;;
      -f) shift ;;
      --) pattern=$2; shift 2 ;;
      *) pattern=$1; shift ;;
    esac
  done
  [ -z "$user" ] || [ "$user" = wso2carbon ] || return 1
  local line
  line=$(jvm) || return 1
  [[ $line =~ $pattern ]] || return 1
  echo 4242
}

# curl on the host: the product answers on localhost when its JVM runs
# and is not hung.
curl() {
  local a url=
  for a in "$@"; do
    case $a in http://* | https://*) url=$a ;; esac
  done
  case $url in
    http://localhost:* | https://localhost:*) ;;
    *) echo "fake curl: unsupported on a host: curl $*" >&2; return 3 ;;
  esac
  if jvm >/dev/null && [ -d "$R$(get "$H/run")" ] && ! hung "$FAKE_HOST"; then
    return 0
  fi
  local port=${url#*://localhost:}
  echo "curl: (7) Failed to connect to localhost port ${port%%/*}: Connection refused" >&2
  return 7
}

# WSO2's update tool of a product home: asks for no console when its
# credentials are in its environment; updates itself on its first run
# (exit 2, to be run again); then raises the update level by one (or puts
# the one before back with --revert).
_wso2update() {
  local home=$1 flag=${2:-}
  if [ -z "${UPDATE_TOOL_USERNAME:-}" ] || [ -z "${UPDATE_TOOL_PASSWORD:-}" ]; then
    echo "Enter WSO2 username: error: no console to read the credentials from" >&2
    return 1
  fi
  if [ ! -f "$H/tool-updated" ]; then
    put "$H/tool-updated" 1
    echo "The update tool updated itself: run it again."
    return 2
  fi
  local config=$R$home/updates/config.json level
  level=$(command sed -n 's/.*"update-level": *"\(-\{0,1\}[0-9]*\)".*/\1/p' "$config")
  case $flag in
    --revert)
      local before
      before=$(get "$H/level-before$home")
      [ -n "$before" ] || { echo "nothing to revert" >&2; return 1; }
      printf '{"update-level": "%s"}\n' "$before" > "$config" ;;
    "")
      put "$H/level-before$home" "$level"
      printf '{"update-level": "%s"}\n' $((level + 1)) > "$config" ;;
    *) echo "fake wso2update_linux: unsupported flag $flag" >&2; return 3 ;;
  esac
}
for _tool in "$R"/opt/wso2/*/bin/wso2update_linux; do
  [ -f "$_tool" ] || continue
  _home=${_tool#"$R"}
  _home=${_home%/bin/wso2update_linux}
  eval "$_home/bin/wso2update_linux() { _wso2update '$_home' \"\$@\"; }"
done
unset _tool _home

# The node's Hiera data, from the environment its agent uses.
_node_data() {
  local env
  env=$(get "$H/agent/environment" production)
  if [ ! -d "$WORLD/puppetserver/environments/$env" ]; then
    echo "Error: Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Could not find environment '$env'" >&2
    return 1
  fi
  local data=$WORLD/puppetserver/environments/$env/data/nodes/$FAKE_HOST.yaml c
  if ! c=$(catalog_of "$data"); then
    echo "Error: Could not retrieve catalog from remote server: Error 500 on SERVER: Server Error: Class[Apim]: expects a value for parameter 'node_name' (node $FAKE_HOST)" >&2
    return 1
  fi
  printf '%s' "$c"
}

_agent_node() {
  local c=$1 changed=0 failed=0 packs=$R/opt/wso2/packs
  local dir home f env level pack
  dir=$(get "$c/product_dir")
  home=/opt/wso2/$dir
  # With an update level in the common data, the pack updated to it:
  # <product_dir>.<level>.zip (apim::install).
  env=$(get "$H/agent/environment" production)
  level=$(command sed -n 's/^"\{0,1\}apim::update_level"\{0,1\}: *//p' "$WORLD/puppetserver/environments/$env/data/common.yaml" 2>/dev/null)
  pack=$packs/$dir.zip
  case "${level:-0}" in 0) ;; *) pack=$packs/$dir.$level.zip ;; esac
  if [ ! -d "$R$home" ]; then
    if [ ! -f "$pack" ]; then
      echo "Error: unzip: cannot find or open $pack" >&2
      return 4
    fi
    mkdir -p "$R$home/bin" "$R$home/updates" "$R$home/repository/components/lib" \
      "$R$home/repository/resources/security" "$R$home/repository/deployment/server/synapse-configs/default/api"
    echo '#!/bin/sh' > "$R$home/bin/wso2update_linux"
    printf '{"update-level": "%s"}\n' "$(command sed -n 's/^update-level: *//p' "$pack")" > "$R$home/updates/config.json"
    changed=1
  fi
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    if [ ! -f "$packs/lib/$f" ]; then echo "Error: $packs/lib/$f is missing" >&2; failed=1; fi
  done < "$c/drivers"
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    if [ ! -f "$packs/security/$f" ]; then echo "Error: $packs/security/$f is missing" >&2; failed=1; fi
  done < "$c/security"
  [ $failed = 0 ] || return 4
  # apim::config notifies apim::service: a new product home (its
  # configuration written there) restarts the service.
  local refresh=0
  if [ "$(get "$H/unitfile/wso2am")" != "$home" ]; then
    put "$H/unitfile/wso2am" "$home"
    changed=1
    refresh=1
  fi
  if [ "$(get "$H/envfile")" != "$(get "$c/envdigest")" ]; then
    put "$H/envfile" "$(get "$c/envdigest")"
    changed=1
    refresh=1
  fi
  # apim::artifact_sync: its unit, running with the product.
  local sync
  sync=$(get "$c/artifact_sync" none)
  if [ "$sync" != none ]; then
    [ "$(get "$H/unitfile/apim-artifact-sync")" = "$sync" ] || { put "$H/unitfile/apim-artifact-sync" "$sync"; changed=1; }
    if [ "$(get "$c/running")" = true ]; then
      [ "$(unit_state apim-artifact-sync)" = active ] || { unit_start apim-artifact-sync; changed=1; }
    elif [ "$(unit_state apim-artifact-sync)" = active ]; then
      unit_stop apim-artifact-sync
      changed=1
    fi
  fi
  if [ "$(get "$c/running")" = true ]; then
    if [ "$(unit_state wso2am)" != active ]; then
      unit_start wso2am || return 6
      changed=1
    elif [ $refresh = 1 ]; then
      unit_stop wso2am && unit_start wso2am || return 6
    fi
    [ -f "$H/enabled/wso2am" ] || { put "$H/enabled/wso2am" 1; changed=1; }
  else
    if [ "$(unit_state wso2am)" = active ]; then
      unit_stop wso2am
      changed=1
    fi
    [ ! -f "$H/enabled/wso2am" ] || { command rm -f "$H/enabled/wso2am"; changed=1; }
  fi
  return $((changed * 2))
}

_agent_lb() {
  local c=$1 changed=0 env
  env=$(get "$H/agent/environment" production)
  mkdir -p "$R/etc/nginx" "$R/usr/local/bin"
  if ! cmp -s "$c/nginx.conf" "$R/etc/nginx/nginx.conf"; then
    cp "$c/nginx.conf" "$R/etc/nginx/nginx.conf"
    changed=1
  fi
  local script=$WORLD/puppetserver/environments/$env/modules/apim/files/apim-lb.sh
  if ! cmp -s "$script" "$R/usr/local/bin/apim-lb"; then
    cp "$script" "$R/usr/local/bin/apim-lb"
    changed=1
  fi
  [ -f "$H/unitfile/nginx" ] || { put "$H/unitfile/nginx" nginx; changed=1; }
  if [ "$(get "$c/running")" = true ]; then
    if [ "$(unit_state nginx)" != active ]; then
      unit_start nginx
      changed=1
    fi
    [ -f "$H/enabled/nginx" ] || { put "$H/enabled/nginx" 1; changed=1; }
  else
    if [ "$(unit_state nginx)" = active ]; then
      unit_stop nginx
      changed=1
    fi
    [ ! -f "$H/enabled/nginx" ] || { command rm -f "$H/enabled/nginx"; changed=1; }
  fi
  return $((changed * 2))
}

puppet() {
  case "$1 ${2:-}" in
    "agent --test")
      if [ -f "$H/agent/disabled" ]; then
        echo "Notice: Skipping run of Puppet configuration client; administratively disabled (Reason: '$(get "$H/agent/disabled")');"
        echo "Use 'puppet agent --enable' to re-enable."
        return 1
      fi
      local c
      c=$(_node_data) || return 1
      case $(get "$c/kind") in
        node) _agent_node "$c" ;;
        lb) _agent_lb "$c" ;;
        *) echo "fake puppet: no catalog kind in $c" >&2; return 3 ;;
      esac ;;
    "agent --disable")
      put "$H/agent/disabled" "${3:-reason not specified}" ;;
    "agent --enable")
      command rm -f "$H/agent/disabled" ;;
    "config set")
      { [ "${3:-}" = environment ] && [ "${5:-} ${6:-}" = "--section agent" ]; } || { echo "fake puppet: unsupported: puppet $*" >&2; return 3; }
      put "$H/agent/environment" "$4" ;;
    "config print")
      { [ "${3:-}" = environment ] && [ "${4:-} ${5:-}" = "--section agent" ]; } || { echo "fake puppet: unsupported: puppet $*" >&2; return 3; }
      get "$H/agent/environment" production
      echo ;;
    *) echo "fake puppet: unsupported: puppet $*" >&2; return 3 ;;
  esac
}
