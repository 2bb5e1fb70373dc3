# Shared by the fakes of the world (tests/verify_world.rs): where the state
# is kept and how a file of a build is known. Sourced, never run.
#
# $WORLD is the world's folder; $S its state; $WORLD/catalog/<sha256>/ what
# the test read from a build's file of that content (the fakes never parse
# YAML: a Kubernetes manifest's objects, a Compose file's services, a
# Puppet node's Hiera data).

S=$WORLD/state

# An image reference or host name as one file name.
enc() {
  local s=${1//%/%25}
  s=${s//\//%2F}
  printf '%s' "${s//:/%3A}"
}

# The catalog folder of a file, by its content; fails for a file the test
# did not catalog (or that does not exist).
catalog_of() {
  local h _
  [ -f "$1" ] || return 1
  read -r h _ < <(sha256sum -- "$1")
  [ -d "$WORLD/catalog/$h" ] || return 1
  printf '%s' "$WORLD/catalog/$h"
}

# The first line of a file, or $2 when there is none.
get() {
  local v
  if [ -f "$1" ] && IFS= read -r v < "$1"; then
    printf '%s' "$v"
  else
    printf '%s' "${2-}"
  fi
}

put() {
  [ -d "${1%/*}" ] || mkdir -p "${1%/*}"
  printf '%s\n' "$2" > "$1"
}

# The image is in the registry (pushed, or published by WSO2).
in_registry() { [ -e "$S/registry/$(enc "$1")" ]; }

# A node, host, Deployment or address marked as hung: its process runs but
# answers nothing (the test's way to break what a check step checks).
hung() {
  local n
  for n in "$@"; do
    [ -n "$n" ] && [ -e "$S/hung/$n" ] && return 0
  done
  return 1
}

# How nginx answers a request, from its configuration: prints `status N`
# for an answer nginx gives itself (a read-only portal refuses a write with
# 403; no server block for the host: 404), else the upstream's servers as
# `server HOST:PORT [backup] [down]`, one a line. Only what the generated
# nginx.conf uses: upstreams, `listen 443` servers by server_name,
# locations by longest prefix, the read-only marks of lb.sh.
nginx_route() {
  local conf=$1 host=$2 method=$3 path=$4
  awk -v host="$host" -v method="$method" -v path="$path" '
    function unq(s) { gsub(/"/, "", s); sub(/;$/, "", s); return s }
    function count(s, c,   n) { n = gsub(c, "", s); return n }
    {
      line = $0
      opens = count(line, "{"); closes = count(line, "}")
    }
    $1 == "upstream" && depth == 1 { up = $2; inup = 1 }
    inup && $1 == "server" { servers[up] = servers[up] "\n" $0 }
    $1 == "server" && $2 == "{" && depth == 1 { insrv = 1; tls = 0; name = ""; nloc = 0 }
    insrv && depth == 2 && $1 == "listen" && $2 == "443" { tls = 1 }
    insrv && depth == 2 && $1 == "server_name" { name = unq($2) }
    insrv && depth == 2 && $1 == "location" { nloc++; loc[nloc] = unq($2); ro[nloc] = 0; pass[nloc] = "" }
    insrv && depth >= 3 && $1 == "proxy_pass" { p = unq($2); sub(/^https?:\/\//, "", p); pass[nloc] = p }
    insrv && depth >= 3 && index($0, "# topoc read-only ") > 0 { ro[nloc] = 1 }
    {
      depth += opens - closes
      if (inup && depth == 1) inup = 0
      if (insrv && depth == 1) {
        insrv = 0
        if (tls && name == host) {
          found = 1
          best = 0
          for (i = 1; i <= nloc; i++)
            if (index(path, loc[i]) == 1 && (best == 0 || length(loc[i]) > length(loc[best]))) best = i
          if (best > 0) { chosen = pass[best]; readonly = ro[best] }
        }
      }
    }
    END {
      if (!found || chosen == "") { print "status 404"; exit }
      if (readonly && method !~ /^(GET|HEAD|OPTIONS)$/ && path !~ /^\/(oauth2|oidc|commonauth|authenticationendpoint|logincontext)(\/|$)/) { print "status 403"; exit }
      n = split(servers[chosen], lines, "\n")
      for (i = 1; i <= n; i++) {
        l = lines[i]
        if (l == "") continue
        split(l, f, " ")
        flags = ""
        if (index(l, " backup") > 0) flags = flags " backup"
        if (index(l, " down;") > 0) flags = flags " down"
        print "server " unq(f[2]) flags
      }
    }
  ' "$conf"
}

# The answer of an nginx to a request: `nginx_answer CONF HOST METHOD PATH
# ALIVE`, where ALIVE is a function that says whether a server (HOST:PORT)
# answers. A live server that is neither backup nor down gets the request,
# else a live backup; without one nginx answers 502.
nginx_answer() {
  local route line addr flags primary=0 backup=0
  route=$(nginx_route "$1" "$2" "$3" "$4")
  case $route in
    status\ *)
      printf '%s' "${route#status }"
      return
      ;;
  esac
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    line=${line#server }
    addr=${line%% *}
    flags=${line#"$addr"}
    case $flags in *down*) continue ;; esac
    "$5" "$addr" || continue
    case $flags in
      *backup*) backup=1 ;;
      *) primary=1 ;;
    esac
  done <<< "$route"
  if [ "$primary" = 1 ] || [ "$backup" = 1 ]; then
    printf 200
  else
    printf 502
  fi
}
