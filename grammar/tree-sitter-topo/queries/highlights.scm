;; Highlights for topo. The patterns do not overlap, so the result does not
;; depend on which of two matching patterns an editor prefers. The block kinds
;; and the enumeration values are those of topoc's schema table
;; (src/model/schema.rs); a test keeps them in step.

(comment) @comment

"import" @keyword.import

(block
  kind: (identifier) @keyword
  (#any-of? @keyword
    "topology" "datacenter" "datasource" "file_share" "artifact_server"
    "cluster" "load_balancer" "upgrade"))

(block
  kind: (identifier) @type
  (#not-any-of? @type
    "topology" "datacenter" "datasource" "file_share" "artifact_server"
    "cluster" "load_balancer" "upgrade"))

(block
  name: (identifier) @module)

(attribute
  key: (identifier) @property)

(call
  function: (identifier) @function.builtin)

(string) @string

(escape_sequence) @string.escape

(number) @number

(quantity) @number

; Values: enumeration values, booleans, and references to blocks.
([
  (attribute value: (identifier) @constant)
  (list (identifier) @constant)
]
  (#any-of? @constant
    "active-active" "active-passive" "add-service" "all-in-one" "apim" "cold"
    "control-plane" "disaster-recovery" "dns" "gateway-worker" "gradual"
    "hot" "key-manager" "mariadb" "migration" "mssql" "mysql" "nfs" "nginx" "none"
    "one-way" "oracle" "passive" "patch" "postgres" "primary" "read-only"
    "read-write" "rsync" "service-update" "shared" "traffic-manager"
    "two-way" "version-upgrade" "warm" "wso2-apim"))

([
  (attribute value: (identifier) @boolean)
  (list (identifier) @boolean)
]
  (#any-of? @boolean "true" "false"))

([
  (attribute value: (identifier) @variable)
  (list (identifier) @variable)
]
  (#not-any-of? @variable
    "active-active" "active-passive" "add-service" "all-in-one" "apim" "cold"
    "control-plane" "disaster-recovery" "dns" "gateway-worker" "gradual"
    "hot" "key-manager" "mariadb" "migration" "mssql" "mysql" "nfs" "nginx" "none"
    "one-way" "oracle" "passive" "patch" "postgres" "primary" "read-only"
    "read-write" "rsync" "service-update" "shared" "traffic-manager"
    "two-way" "version-upgrade" "warm" "wso2-apim" "true" "false"))

"=" @operator

"," @punctuation.delimiter

[
  "{"
  "}"
  "["
  "]"
  "("
  ")"
] @punctuation.bracket
