package main

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// maxDisksPerVM bounds -vm-disks: a SCSI controller has 15 usable units.
const maxDisksPerVM = 15

// shapeDisks gives every VM `count` disks of `mib` MiB (0 keeps the simulator's capacity):
// the first disk is resized, the others are copies of it on the next SCSI units with their
// own files "<vm>_<n>.vmdk" and "<vm>_<n>-flat.vmdk" (sparse, sized to the capacity).
func shapeDisks(count int, mib int64) error {
	if count < 1 || count > maxDisksPerVM {
		return fmt.Errorf("-vm-disks %d: must be 1..%d", count, maxDisksPerVM)
	}
	if mib < 0 {
		return fmt.Errorf("-disk-mib %d: must not be negative", mib)
	}
	if count == 1 && mib == 0 {
		return nil
	}
	for _, entity := range simulator.Map.All("VirtualMachine") {
		vm, ok := entity.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		if err := shapeVM(vm, count, mib); err != nil {
			return fmt.Errorf("%s: %v", vm.Name, err)
		}
	}
	return nil
}

func shapeVM(vm *simulator.VirtualMachine, count int, mib int64) error {
	var first *types.VirtualDisk
	maxKey := int32(0)
	for _, device := range vm.Config.Hardware.Device {
		if d := device.GetVirtualDevice(); d.Key > maxKey {
			maxKey = d.Key
		}
		if disk, ok := device.(*types.VirtualDisk); ok && first == nil {
			first = disk
		}
	}
	if first == nil || first.UnitNumber == nil {
		return fmt.Errorf("no disk to shape")
	}
	if mib > 0 {
		first.CapacityInKB = mib * 1024
		first.CapacityInBytes = mib << 20
	}
	capacity := first.CapacityInBytes
	if capacity == 0 {
		capacity = first.CapacityInKB * 1024
	}
	file, _ := diskBacking(first)
	if file == nil {
		return fmt.Errorf("disk %d has no file backing", first.Key)
	}
	if err := sizeFlat(file.FileName, capacity); err != nil {
		return err
	}
	unit := *first.UnitNumber
	for n := 1; n < count; n++ {
		disk := copyDisk(first)
		maxKey++
		disk.Key = maxKey
		unit++
		if unit == 7 { // unit 7 is the SCSI controller itself
			unit++
		}
		u := unit
		disk.UnitNumber = &u
		own, changeID := diskBacking(disk)
		own.FileName = strings.TrimSuffix(file.FileName, ".vmdk") + fmt.Sprintf("_%d.vmdk", n)
		*changeID = ""
		if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
			b.Uuid = fmt.Sprintf("%s-%02d", strings.TrimSuffix(b.Uuid, "-00"), n)
		}
		if err := createDiskFiles(own.FileName, capacity); err != nil {
			return err
		}
		vm.Config.Hardware.Device = append(vm.Config.Hardware.Device, disk)
		if c := controllerOf(vm, disk.ControllerKey); c != nil {
			c.Device = append(c.Device, disk.Key)
		}
	}
	vm.Summary.Config.NumVirtualDisks = int32(count)
	return nil
}

func controllerOf(vm *simulator.VirtualMachine, key int32) *types.VirtualController {
	for _, device := range vm.Config.Hardware.Device {
		if c, ok := device.(types.BaseVirtualController); ok && c.GetVirtualController().Key == key {
			return c.GetVirtualController()
		}
	}
	return nil
}

// createDiskFiles makes the descriptor and flat extent of a new disk.
func createDiskFiles(fileName string, capacity int64) error {
	flat, err := flatPath(fileName)
	if err != nil {
		return err
	}
	descriptor := strings.TrimSuffix(flat, "-flat.vmdk") + ".vmdk"
	if err := os.WriteFile(descriptor, nil, 0o600); err != nil {
		return err
	}
	return sizeFlat(fileName, capacity)
}

// sizeFlat makes the disk's flat extent exist with the disk's capacity (sparse).
func sizeFlat(fileName string, capacity int64) error {
	flat, err := flatPath(fileName)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(flat, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(capacity)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func flatPath(fileName string) (string, error) {
	end := strings.Index(fileName, "]")
	if !strings.HasPrefix(fileName, "[") || end < 0 {
		return "", fmt.Errorf("not a datastore path: %q", fileName)
	}
	dir, ok := datastoreDir(fileName[1:end])
	if !ok {
		return "", fmt.Errorf("datastore of %q not found", fileName)
	}
	rest := strings.TrimSpace(fileName[end+1:])
	return path.Join(dir, strings.TrimSuffix(rest, ".vmdk")+"-flat.vmdk"), nil
}

// eachDisk calls f with every disk of every VM, in registry order.
func eachDisk(f func(vm *simulator.VirtualMachine, disk *types.VirtualDisk, fileName string) error) error {
	for _, entity := range simulator.Map.All("VirtualMachine") {
		vm, ok := entity.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		for _, device := range vm.Config.Hardware.Device {
			disk, ok := device.(*types.VirtualDisk)
			if !ok {
				continue
			}
			if file, _ := diskBacking(disk); file != nil {
				if err := f(vm, disk, file.FileName); err != nil {
					return fmt.Errorf("%s disk %d: %v", vm.Name, disk.Key, err)
				}
			}
		}
	}
	return nil
}

func capacityOf(disk *types.VirtualDisk) int64 {
	if disk.CapacityInBytes != 0 {
		return disk.CapacityInBytes
	}
	return disk.CapacityInKB * 1024
}

// fillDisks writes `mib` MiB of pseudo-random data (xorshift64*, seeded per VM and disk) at
// the start of every disk, so that disks hold real, incompressible data.
func fillDisks(mib int64) error {
	if mib <= 0 {
		return nil
	}
	return eachDisk(func(vm *simulator.VirtualMachine, disk *types.VirtualDisk, fileName string) error {
		flat, err := flatPath(fileName)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(flat, os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		state := uint64(0x9E3779B97F4A7C15) ^ uint64(disk.Key)
		for _, c := range vm.Name {
			state = state*31 + uint64(c)
		}
		buf := make([]byte, 1<<20)
		total := mib << 20
		if c := capacityOf(disk); total > c {
			total = c
		}
		for off := int64(0); off < total; off += int64(len(buf)) {
			for i := 0; i+8 <= len(buf); i += 8 {
				state ^= state >> 12
				state ^= state << 25
				state ^= state >> 27
				v := state * 0x2545F4914F6CDD1D
				for j := 0; j < 8; j++ {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
			n := int64(len(buf))
			if total-off < n {
				n = total - off
			}
			if _, err := f.WriteAt(buf[:n], off); err != nil {
				return err
			}
		}
		return nil
	})
}

// describe writes one tab-separated line per disk to file, for tests and scripts that write
// into the running disks: VM moref, VM name, device key, capacity in bytes, datastore path,
// local path of the flat extent.
func describe(file string) error {
	var b strings.Builder
	b.WriteString("# vm\tname\tkey\tcapacity\tfile\tlocal\n")
	err := eachDisk(func(vm *simulator.VirtualMachine, disk *types.VirtualDisk, fileName string) error {
		flat, err := flatPath(fileName)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s\t%s\t%d\t%d\t%s\t%s\n", vm.Self.Value, vm.Name, disk.Key, capacityOf(disk), fileName, flat)
		return nil
	})
	if err != nil {
		return err
	}
	return os.WriteFile(file, []byte(b.String()), 0o600)
}
