#!/bin/sh
# Run inside the guest by virt-customize (--run) after virt-v2v converted it.
#
# A NIC that was vmxnet3 on VMware becomes virtio on KubeVirt and the kernel names it anew
# (ens192 becomes enp1s0), so the guest's static configuration for ens192 would never come
# up. For every preserved static IP ("MAC:ip:IP,GATEWAY,LEN,DNS..." lines of $MAP, the same
# specs virt-v2v got with --mac) this finds which interface the guest's own configuration
# gives that IP (ifupdown, ifcfg or NetworkManager keyfiles) and writes a udev rule naming
# the NIC with that MAC so. Upstream MTV pins names the same way; this script is forklift's.
#
# ROOT (default empty) prefixes every guest path, for tests outside a guest.
set -u
ROOT=${ROOT:-}
MAP=${MAP:-$ROOT/tmp/macToIP}
RULES=${RULES:-$ROOT/etc/udev/rules.d/70-persistent-net.rules}

[ -r "$MAP" ] || exit 0

# The interface the ifupdown stanzas of the files after $1 configure with address $1.
ifupdown_name() {
    ip=$1
    shift
    awk -v ip="$ip" '
        $1 == "iface" { name = $2 }
        $1 == "address" { a = $2; sub(/\/.*/, "", a); if (a == ip && name != "") { print name; exit } }
    ' "$@" 2>/dev/null
}

# The interface an ifcfg file gives address $1 (DEVICE=, else the file name).
ifcfg_name() {
    ip=$1
    for f in "$ROOT"/etc/sysconfig/network-scripts/ifcfg-* "$ROOT"/etc/sysconfig/network/ifcfg-*; do
        [ -f "$f" ] || continue
        if grep -Eq "^[[:space:]]*IPADDR[0-9]*=[\"']?$ip[\"']?[[:space:]]*\$" "$f"; then
            dev=$(sed -n "s/^[[:space:]]*DEVICE=[\"']\{0,1\}\([^\"']*\)[\"']\{0,1\}[[:space:]]*\$/\1/p" "$f" | head -n 1)
            [ -n "$dev" ] || dev=${f##*/ifcfg-}
            echo "$dev"
            return
        fi
    done
}

# The interface-name of the NetworkManager keyfile with address $1.
nm_name() {
    for f in "$ROOT"/etc/NetworkManager/system-connections/*; do
        [ -f "$f" ] || continue
        awk -v ip="$1" '
            /^interface-name=/ { name = substr($0, 16) }
            /^address[0-9]*=/ { a = $0; sub(/^[^=]*=/, "", a); sub(/[\/,].*/, "", a); if (a == ip) found = 1 }
            END { if (found && name != "") print name }
        ' "$f"
    done | head -n 1
}

staged=$(mktemp "${TMPDIR:-/tmp}/keep-ifnames.XXXXXX") || exit 1
while IFS= read -r line || [ -n "$line" ]; do
    mac=$(printf '%s' "${line%%:ip:*}" | tr 'A-F' 'a-f')
    rest=${line#*:ip:}
    ip=${rest%%,*}
    # Only well-formed specs: a MAC and an IPv4 or IPv6 address, nothing a rule could misread.
    printf '%s' "$mac" | grep -Eq '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' || continue
    printf '%s' "$ip" | grep -Eq '^[0-9A-Fa-f:.]+$' || continue
    interfaces=$(ls "$ROOT"/etc/network/interfaces "$ROOT"/etc/network/interfaces.d/* 2>/dev/null)
    name=""
    if [ -n "$interfaces" ]; then
        # shellcheck disable=SC2086 # one file name per word
        name=$(ifupdown_name "$ip" $interfaces | head -n 1)
    fi
    [ -n "$name" ] || name=$(ifcfg_name "$ip")
    [ -n "$name" ] || name=$(nm_name "$ip")
    name=${name%%:*}
    if ! printf '%s' "$name" | grep -Eq '^[A-Za-z0-9_.-]{1,15}$'; then
        echo "keep_ifnames: no interface of the guest configuration has $ip; $mac keeps its new name"
        continue
    fi
    echo "keep_ifnames: $mac ($ip) keeps the name $name"
    echo "SUBSYSTEM==\"net\",ACTION==\"add\",ATTR{address}==\"$mac\",NAME=\"$name\"" >>"$staged"
done <"$MAP"

if [ -s "$staged" ]; then
    mkdir -p "$(dirname "$RULES")"
    # Rules already there for other MACs stay.
    if [ -f "$RULES" ]; then
        cut -d'"' -f6 "$staged" | while read -r mac; do echo "ATTR{address}==\"$mac\""; done >"$staged.macs"
        grep -vF -f "$staged.macs" "$RULES" >>"$staged" || true
        rm -f "$staged.macs"
    fi
    cat "$staged" >"$RULES"
fi
rm -f "$staged"
