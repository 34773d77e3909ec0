# Reads a NoCloud network-config version 2 (the netplan-style subset used for static IPv4
# addressing) and prints one line per ethernet: "<mac> <address/prefix|-> <gateway|->".
# Understands match.macaddress, addresses (block or inline list; the first IPv4 one wins),
# gateway4, and routes whose "to" is default or 0.0.0.0/0. Entries without a MAC are skipped:
# Palisade Tiny only names NICs by MAC.
function unquote(v) {
  sub(/^[ \t]+/, "", v)
  sub(/[ \t]+$/, "", v)
  if (v ~ /^".*"$/ || v ~ /^'.*'$/) v = substr(v, 2, length(v) - 2)
  return v
}
function flush() {
  if (mac != "") print tolower(mac), (addr == "" ? "-" : addr), (gw == "" ? "-" : gw)
  mac = ""; addr = ""; gw = ""; list = ""; to = ""; via = ""
}
{ sub(/\r$/, "") }
/^[ \t]*(#|$)/ { next }
{
  match($0, /^ */)
  ind = RLENGTH
  t = substr($0, ind + 1)
  item = 0
  if (t ~ /^-( |$)/) { item = 1; t = substr(t, 2); sub(/^ +/, "", t) }
  if (match(t, /^[A-Za-z0-9_-]+:([ \t]|$)/)) {
    c = index(t, ":")
    key = substr(t, 1, c - 1)
    val = unquote(substr(t, c + 1))
  } else {
    key = ""
    val = unquote(t)
  }

  if (ind == 0) { flush(); section = key; next }
  if (section != "ethernets") next
  if (ind == 2 && !item) { flush(); next }
  if (ind == 4 && !item) list = ""

  if (key == "macaddress") mac = val
  else if (key == "gateway4") gw = val
  else if (key == "addresses" && !item && val ~ /^\[/) {
    v = val
    gsub(/[][ "']/, "", v)
    n = split(v, a, ",")
    for (i = 1; i <= n; i++) if (addr == "" && a[i] !~ /:/) addr = a[i]
  }
  else if ((key == "addresses" || key == "routes") && !item) list = key
  else if (list == "addresses" && item && key == "") { if (addr == "" && val !~ /:/) addr = val }
  else if (list == "routes") {
    if (item) { to = ""; via = "" }
    if (key == "to") to = val
    if (key == "via") via = val
    if (via != "" && (to == "default" || to == "0.0.0.0/0")) gw = via
  }
}
END { flush() }
