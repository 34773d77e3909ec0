# Prints the value of a top-level key of a flat YAML file such as NoCloud meta-data (run with
# -v key=NAME): the scalar itself, or each item of a block list, one per line. Double-quoted
# values are unescaped for \" and \\, the only escapes the seed builder produces.
function unquote(v) {
  sub(/^[ \t]+/, "", v)
  sub(/[ \t]+$/, "", v)
  if (v ~ /^".*"$/) {
    v = substr(v, 2, length(v) - 2)
    gsub(/\\\\/, "\001", v)
    gsub(/\\"/, "\"", v)
    gsub(/\001/, "\\", v)
  } else if (v ~ /^'.*'$/) {
    v = substr(v, 2, length(v) - 2)
    gsub(/''/, "'", v)
  }
  return v
}
{ sub(/\r$/, "") }
inlist && /^[ \t]+-( |$)/ { v = $0; sub(/^[ \t]+-/, "", v); print unquote(v); next }
inlist && /^[^ \t#]/ { exit }
!inlist && index($0, key ":") == 1 {
  v = unquote(substr($0, length(key) + 2))
  if (v != "") { print v; exit }
  inlist = 1
}
