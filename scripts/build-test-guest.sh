#!/usr/bin/env bash
# Builds the guest that the conversion tests migrate: a small bootable Debian 12 made from the
# Debian packages of the archive this machine's apt already uses, packaged the way VMware
# exports it. Prints the directory holding:
#
#   guest.img                     raw 1 GiB disk: MBR, ext4 root labelled "rootfs", grub-pc,
#                                 the cloud kernel, /etc/fstab, open-vm-tools (VMware tools, which
#                                 conversion removes) and a static IP for the VMware NIC
#                                 (ens192, 00:50:56:aa:bb:cc) in /etc/network/interfaces
#   luks-data.img                 raw 64 MiB data disk: one MBR partition, LUKS2 (passphrase
#                                 in luks-passphrase) holding an ext4 filesystem "data"
#   catalog/testguest.ova         OVA (OVF + manifest + streamOptimized VMDK) of guest.img
#   catalog-luks/testguest-luks.ova   the same guest with luks-data.img as its second disk
#
# Usage: build-test-guest.sh [CACHE_ROOT]   (default: target/tmp/test-guest, where the tests keep it)
# The result is cached in CACHE_ROOT/<hash of this script>: built once, reused by every later
# test run until this script changes. Concurrent callers wait on a lock for the first build.
# Needs root (debootstrap) and scripts/setup-v2v.sh's packages.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
CACHE_ROOT=$(realpath -m "${1:-$ROOT_DIR/target/tmp/test-guest}")
HASH=$(sha256sum "$0" | cut -c1-16)
OUT=$CACHE_ROOT/$HASH
# libguestfs on this kind of machine: /dev/kvm exists but hangs guest kernels; force TCG.
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
export DEBIAN_FRONTEND=noninteractive

NAME=testguest
MAC=00:50:56:aa:bb:cc
STATIC_IP=192.168.122.50
PASSPHRASE=forklift-luks-test

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
flock 9
if [ -f "$OUT/done" ]; then
  echo "$OUT"
  exit 0
fi

# The Debian archive of the machine's own "bookworm" suite, as setup-v2v.sh finds it.
mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm([ \n]|$)/ { if (match($0, /URIs: *[^ \n]+/)) {
           u=substr($0, RSTART, RLENGTH); sub(/URIs: */, "", u); print u; exit } }' "$f"
  done
  if [ -f /etc/apt/sources.list ]; then
    awk '$1=="deb" && $0 ~ / bookworm / { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list
  fi
  echo http://deb.debian.org/debian
}
MIRROR=${DEBIAN_MIRROR:-$(mirror | sed -n 1p)}

started=$(date +%s)
rm -rf "$OUT"
W=$OUT/work
mkdir -p "$W"
R=$W/rootfs
debootstrap --variant=minbase \
  --include=linux-image-cloud-amd64,grub-pc,systemd-sysv,udev,initramfs-tools,e2fsprogs,ifupdown,open-vm-tools \
  bookworm "$R" "$MIRROR" >"$W/debootstrap.log" 2>&1
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*_Packages "$R"/usr/share/{locale,doc,man}/*
echo 'LABEL=rootfs / ext4 errors=remount-ro 0 1' >"$R/etc/fstab"
echo "$NAME" >"$R/etc/hostname"
# Passwordless root on the serial console: the boot test only waits for the login prompt.
sed -i 's/^root:[^:]*:/root::/' "$R/etc/shadow"
cat >"$R/etc/network/interfaces" <<EOF
auto lo
iface lo inet loopback

# The VMware NIC ($MAC): vmxnet3 in PCI slot 192.
auto ens192
iface ens192 inet static
    address $STATIC_IP/24
    gateway 192.168.122.1
EOF
printf 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_DISTRIBUTOR=Debian\nGRUB_CMDLINE_LINUX="console=ttyS0"\nGRUB_TERMINAL=console\n' \
  >"$R/etc/default/grub"
# A small initramfs (listed modules only): virt-v2v rebuilds it, and under TCG that step is
# most of a conversion's time. virt-v2v adds the virtio modules it needs.
echo MODULES=list >"$R/etc/initramfs-tools/conf.d/small.conf"
printf 'sd_mod\next4\nvmw_pvscsi\n' >>"$R/etc/initramfs-tools/modules"
tar --numeric-owner -C "$R" -cf "$W/rootfs.tar" .
rm -rf "$R"

truncate -s 1G "$OUT/guest.img"
guestfish -a "$OUT/guest.img" >"$W/guestfish.log" 2>&1 <<EOF
run
part-disk /dev/sda mbr
part-set-bootable /dev/sda 1 true
mkfs ext4 /dev/sda1 label:rootfs
mount /dev/sda1 /
tar-in $W/rootfs.tar /
# Inside the appliance the guest's disk need not be /dev/sda (the appliance's own disk may
# come first): install to whichever disk holds /boot/grub.
sh "grub-install --target=i386-pc \$(grub-probe --target=disk /boot/grub)"
command "update-initramfs -u -k all"
command "update-grub"
EOF
rm -f "$W/rootfs.tar"

# The LUKS data disk: one partition holding the LUKS volume (virt-v2v's inspection opens
# encrypted partitions); guestfish reads the passphrase from stdin (format, then open).
printf '%s' "$PASSPHRASE" >"$OUT/luks-passphrase"
truncate -s 64M "$OUT/luks-data.img"
printf '%s\n%s\n' "$PASSPHRASE" "$PASSPHRASE" |
  guestfish --keys-from-stdin -a "$OUT/luks-data.img" \
    run : part-disk /dev/sda mbr : luks-format /dev/sda1 0 : luks-open /dev/sda1 data : \
    mkfs ext4 /dev/mapper/data label:data : mount /dev/mapper/data / : \
    write /secret.txt "data behind LUKS" : umount / : luks-close /dev/mapper/data \
    >>"$W/guestfish.log" 2>&1

# An OVA as vSphere exports it: OVF, manifest, streamOptimized VMDKs, in a ustar archive.
# ova NAME DIR DISK...
ova() {
  local name=$1 dir=$2
  shift 2
  mkdir -p "$dir" "$W/$name"
  local files="" disks="" items="" i=0 disk
  for disk in "$@"; do
    i=$((i + 1))
    local vmdk="$name-disk$i.vmdk"
    qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$disk" "$W/$name/$vmdk"
    local size cap
    size=$(stat -c %s "$W/$name/$vmdk")
    cap=$(stat -c %s "$disk")
    files+="    <File ovf:href=\"$vmdk\" ovf:id=\"file$i\" ovf:size=\"$size\"/>"$'\n'
    disks+="    <Disk ovf:capacity=\"$cap\" ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"vmdisk$i\" ovf:fileRef=\"file$i\" ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/>"$'\n'
    items+="      <Item>
        <rasd:AddressOnParent>$((i - 1))</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk $i</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk$i</rasd:HostResource>
        <rasd:InstanceID>$((10 + i))</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>"$'\n'
  done
  cat >"$W/$name/$name.ovf" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-20012345" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
$files  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
$disks  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network">
      <Description>The VM Network network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="$name">
    <Info>A virtual machine</Info>
    <Name>$name</Name>
    <OperatingSystemSection ovf:id="96" vmw:osType="debian12_64Guest">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>$name</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>1 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>1024MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>1024</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:ElementName>SCSI controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
$items      <Item>
        <rasd:Address>$MAC</rasd:Address>
        <rasd:AddressOnParent>7</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
EOF
  (
    cd "$W/$name"
    local manifest="" f
    for f in "$name.ovf" "$name"-disk*.vmdk; do
      manifest+="SHA256($f)= $(sha256sum "$f" | cut -d' ' -f1)"$'\n'
    done
    printf '%s' "$manifest" >"$name.mf"
    tar --format=ustar -cf "$dir/$name.ova" "$name.ovf" "$name.mf" "$name"-disk*.vmdk
  )
  rm -rf "${W:?}/$name"
}
ova "$NAME" "$OUT/catalog" "$OUT/guest.img"
ova "$NAME-luks" "$OUT/catalog-luks" "$OUT/guest.img" "$OUT/luks-data.img"

echo "$(($(date +%s) - started))" >"$OUT/build-seconds"
rm -rf "$W"
touch "$OUT/done"
# Older builds (of earlier versions of this script) are no longer used.
find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d ! -name "$HASH" -exec rm -rf {} +
echo "$OUT"
