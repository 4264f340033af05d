// Snapshots with frozen disk content and changed block tracking (CBT) for the simulator.
//
// govmomi's simulator records snapshots in the VM's snapshot tree but neither keeps the disk
// data of a snapshot nor implements VirtualMachine.QueryChangedDiskAreas. This file adds both
// in front of the simulator's SOAP handler, keeping vim25's wire shapes:
//
//   - CreateSnapshot_Task: refused with TooManySnapshotLevels (a task error, as vSphere
//     reports it) past -max-snapshot-levels; otherwise the simulator creates the snapshot and
//     we keep a frozen copy of each disk's content in <vm dir>/<snapshot moref>/<disk>-flat.vmdk
//     (a sparse copy: holes stay holes), give the snapshot its own device list and, when
//     config.changeTrackingEnabled is set, a change id per disk in the snapshot's
//     VirtualDisk.backing.changeId ("52 xx .. xx/N", VMware's format).
//   - QueryChangedDiskAreas(snapshot, deviceKey, startOffset, changeId): "*" answers the
//     allocated areas of the snapshot's frozen copy; a change id answers the 64 KiB blocks
//     whose content differs between the snapshot that carried that change id and this one.
//     Like CBT, a change id stays valid after its snapshot is removed (the flow upstream
//     Forklift runs removes the previous snapshot before querying), so each change id keeps
//     a digest per block rather than the data. Answers are DiskChangeInfo pages covering at
//     most -cbt-page-bytes; the client loops over startOffset as with VMware.
//   - RemoveSnapshot_Task / RemoveAllSnapshots_Task: the simulator removes the snapshot and
//     we delete its frozen copy.
//
// The fake VDDK of forklift's tests (forklift-transfer/tests/fake-vddk) opens a disk at a
// snapshot by reading that frozen copy: it is the one place the layout above is shared.

package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"hash/maphash"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// cbtBlockSize is the granularity of changed areas, as VMware's CBT reports them.
const cbtBlockSize = 64 * 1024

// maxChangeIDsPerDisk bounds the change ids a disk remembers; older ones are forgotten, and
// a query naming one fails with FileFault as when VMware resets CBT.
const maxChangeIDsPerDisk = 64

// maxRequestBytes bounds the SOAP requests this layer reads before decoding them.
const maxRequestBytes = 16 << 20

type diskID struct {
	vm  string
	key int32
}

// epoch is the content digest of a disk as of the snapshot that carried a change id.
type epoch struct {
	changeID string
	digests  []uint64
}

// tracker is the CBT state of one disk: a random id made when tracking starts and the
// digests of the last change ids, oldest first.
type tracker struct {
	uuid    string
	seq     int
	epochs  []epoch
	current []uint64
}

// frozenDisk is one disk of a snapshot.
type frozenDisk struct {
	path     string
	capacity int64
	changeID string
}

type frozenSnapshot struct {
	vm    string
	dir   string
	disks map[int32]frozenDisk
}

type cbt struct {
	mu          sync.Mutex
	maxLevels   int
	pageBytes   int64
	seed        maphash.Seed
	trackers    map[diskID]*tracker
	snapshots   map[string]*frozenSnapshot
	tools       *guestTools
	passThrough http.Handler
}

func newCBT(next http.Handler, maxLevels int, pageBytes int64) *cbt {
	if pageBytes < cbtBlockSize {
		pageBytes = cbtBlockSize
	}
	pageBytes -= pageBytes % cbtBlockSize
	return &cbt{
		maxLevels:   maxLevels,
		pageBytes:   pageBytes,
		seed:        maphash.MakeSeed(),
		trackers:    map[diskID]*tracker{},
		snapshots:   map[string]*frozenSnapshot{},
		tools:       &guestTools{running: map[string]bool{}},
		passThrough: next,
	}
}

func (c *cbt) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == toolsControlPath {
		c.tools.control(w, r)
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/sdk") {
		c.passThrough.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	_ = r.Body.Close()
	if err != nil || len(body) > maxRequestBytes {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil {
		c.passThrough.ServeHTTP(w, r)
		return
	}
	switch req := method.Body.(type) {
	case *types.CreateSnapshot_Task:
		c.createSnapshot(w, r, req)
	case *types.QueryChangedDiskAreas:
		c.queryChangedDiskAreas(w, r, req)
	case *types.ShutdownGuest:
		c.shutdownGuest(w, r, req)
	case *types.ReconfigVM_Task:
		c.passThrough.ServeHTTP(w, r)
		c.resetIfTrackingOff(req.This)
	case *types.RemoveSnapshot_Task, *types.RemoveAllSnapshots_Task, *types.Destroy_Task:
		c.passThrough.ServeHTTP(w, r)
		c.sweep()
	default:
		c.passThrough.ServeHTTP(w, r)
	}
}

func (c *cbt) createSnapshot(w http.ResponseWriter, r *http.Request, req *types.CreateSnapshot_Task) {
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok || !c.authenticated(w, r) {
		if ok {
			return
		}
		c.passThrough.ServeHTTP(w, r)
		return
	}
	var levels int
	simulator.Map.WithLock(vm, func() {
		if vm.Snapshot != nil && vm.Snapshot.CurrentSnapshot != nil {
			levels = depthOf(vm.Snapshot.RootSnapshotList, *vm.Snapshot.CurrentSnapshot, 1)
		}
	})
	if levels >= c.maxLevels {
		log.Printf("vcsim: %s already has %d snapshot levels (limit %d)", vm.Self.Value, levels, c.maxLevels)
		task := simulator.CreateTask(vm, "createSnapshot", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
			return nil, &types.TooManySnapshotLevels{}
		})
		writeBody(w, "CreateSnapshot_TaskResponse", &types.CreateSnapshot_TaskResponse{Returnval: task.Run()})
		return
	}
	rec := httptest.NewRecorder()
	c.passThrough.ServeHTTP(rec, r)
	defer copyRecorded(w, rec)
	if rec.Code != http.StatusOK {
		return
	}
	// Tasks run synchronously in the simulator: the snapshot exists now.
	var current *types.ManagedObjectReference
	simulator.Map.WithLock(vm, func() {
		if vm.Snapshot != nil && vm.Snapshot.CurrentSnapshot != nil {
			ref := *vm.Snapshot.CurrentSnapshot
			current = &ref
		}
	})
	if current == nil {
		return
	}
	if err := c.freeze(vm, *current); err != nil {
		// The snapshot exists but its data could not be kept: report it loudly, the
		// tests reading it will fail with the fake VDDK's file-not-found.
		log.Printf("vcsim: freezing disks of %s for %s: %v", vm.Self.Value, current.Value, err)
	}
}

func depthOf(tree []types.VirtualMachineSnapshotTree, ref types.ManagedObjectReference, depth int) int {
	for _, node := range tree {
		if node.Snapshot == ref {
			return depth
		}
		if d := depthOf(node.ChildSnapshotList, ref, depth+1); d > 0 {
			return d
		}
	}
	return 0
}

// freeze keeps the content of every disk of vm for snapshot ref and records change ids.
func (c *cbt) freeze(vm *simulator.VirtualMachine, ref types.ManagedObjectReference) error {
	snapshot, ok := simulator.Map.Get(ref).(*simulator.VirtualMachineSnapshot)
	if !ok {
		return fmt.Errorf("snapshot %s not in the registry", ref.Value)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	frozen := &frozenSnapshot{vm: vm.Self.Value, disks: map[int32]frozenDisk{}}
	c.snapshots[ref.Value] = frozen
	var firstErr error
	simulator.Map.WithLock(vm, func() {
		tracking := vm.Config.ChangeTrackingEnabled != nil && *vm.Config.ChangeTrackingEnabled
		devices := make([]types.BaseVirtualDevice, len(vm.Config.Hardware.Device))
		for i, device := range vm.Config.Hardware.Device {
			devices[i] = device
			disk, ok := device.(*types.VirtualDisk)
			if !ok {
				continue
			}
			id := diskID{vm: vm.Self.Value, key: disk.Key}
			own := copyDisk(disk)
			devices[i] = own
			file, changeID := diskBacking(own)
			if file == nil {
				continue
			}
			_, liveChangeID := diskBacking(disk)
			src, err := localDisk(file.FileName)
			if err == nil {
				if frozen.dir == "" {
					frozen.dir = filepath.Join(filepath.Dir(src), ref.Value)
					err = os.MkdirAll(frozen.dir, 0o700)
				}
			}
			capacity := disk.CapacityInBytes
			if capacity == 0 {
				capacity = disk.CapacityInKB * 1024
			}
			var dst string
			if err == nil {
				name := strings.TrimSuffix(path.Base(file.FileName), ".vmdk") + "-flat.vmdk"
				dst = filepath.Join(frozen.dir, name)
				err = sparseCopy(src, dst, capacity)
			}
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			fd := frozenDisk{path: dst, capacity: capacity}
			if tracking {
				digests, err := c.digest(dst, capacity)
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					fd.changeID = c.record(id, digests)
					*changeID = fd.changeID
					if liveChangeID != nil {
						*liveChangeID = fd.changeID
					}
				}
			} else {
				delete(c.trackers, id) // CBT off: change ids start over when it comes back
				*changeID = ""
			}
			frozen.disks[disk.Key] = fd
		}
		snapshot.Config.Hardware.Device = devices
	})
	return firstErr
}

// record stores a new change id for disk id with the given content digests.
func (c *cbt) record(id diskID, digests []uint64) string {
	t := c.trackers[id]
	if t == nil {
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		raw[0] = 0x52 // VMware's change ids start with "52"
		parts := make([]string, len(raw))
		for i, b := range raw {
			parts[i] = fmt.Sprintf("%02x", b)
		}
		t = &tracker{uuid: strings.Join(parts[:8], " ") + "-" + strings.Join(parts[8:], " ")}
		c.trackers[id] = t
	}
	t.seq++
	changeID := fmt.Sprintf("%s/%d", t.uuid, t.seq)
	t.epochs = append(t.epochs, epoch{changeID: changeID, digests: digests})
	if len(t.epochs) > maxChangeIDsPerDisk {
		t.epochs = t.epochs[len(t.epochs)-maxChangeIDsPerDisk:]
	}
	t.current = digests
	return changeID
}

// resetIfTrackingOff forgets the change ids of a VM whose change tracking was turned off:
// as with VMware, turning it back on starts a new series that old ids are not part of.
func (c *cbt) resetIfTrackingOff(ref types.ManagedObjectReference) {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	var tracking bool
	simulator.Map.WithLock(vm, func() {
		tracking = vm.Config.ChangeTrackingEnabled != nil && *vm.Config.ChangeTrackingEnabled
	})
	if tracking {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.trackers {
		if id.vm == ref.Value {
			delete(c.trackers, id)
		}
	}
}

// sweep deletes the frozen copies of snapshots the simulator no longer has.
func (c *cbt) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ref, frozen := range c.snapshots {
		moref := types.ManagedObjectReference{Type: "VirtualMachineSnapshot", Value: ref}
		if simulator.Map.Get(moref) != nil {
			continue
		}
		if frozen.dir != "" {
			if err := os.RemoveAll(frozen.dir); err != nil {
				log.Printf("vcsim: removing frozen disks of %s: %v", ref, err)
			}
		}
		delete(c.snapshots, ref)
	}
}

func (c *cbt) queryChangedDiskAreas(w http.ResponseWriter, r *http.Request, req *types.QueryChangedDiskAreas) {
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		c.passThrough.ServeHTTP(w, r)
		return
	}
	if !c.authenticated(w, r) {
		return
	}
	info, fault := c.changedAreas(vm, req)
	if fault != nil {
		writeFault(w, fault)
		return
	}
	writeBody(w, "QueryChangedDiskAreasResponse", &types.QueryChangedDiskAreasResponse{Returnval: *info})
}

func (c *cbt) changedAreas(vm *simulator.VirtualMachine, req *types.QueryChangedDiskAreas) (*types.DiskChangeInfo, *faultAnswer) {
	if req.Snapshot == nil {
		// VMware answers for the running disk too; forklift always names a snapshot and
		// the simulator has no live change log, so ask for one.
		return nil, &faultAnswer{"A specified parameter was not correct: snapshot",
			&types.InvalidArgument{InvalidProperty: "snapshot"}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	frozen, ok := c.snapshots[req.Snapshot.Value]
	if !ok || frozen.vm != vm.Self.Value {
		return nil, &faultAnswer{fmt.Sprintf("The object '%s' has already been deleted or has not been completely created", req.Snapshot.Value),
			&types.ManagedObjectNotFound{Obj: *req.Snapshot}}
	}
	disk, ok := frozen.disks[req.DeviceKey]
	if !ok {
		return nil, &faultAnswer{"A specified parameter was not correct: deviceKey",
			&types.InvalidArgument{InvalidProperty: "deviceKey"}}
	}
	if req.StartOffset < 0 || req.StartOffset >= disk.capacity || req.StartOffset%512 != 0 {
		return nil, &faultAnswer{"A specified parameter was not correct: startOffset",
			&types.InvalidArgument{InvalidProperty: "startOffset"}}
	}
	ctkFault := &faultAnswer{
		fmt.Sprintf("Error caused by file %s", strings.TrimSuffix(disk.path, "-flat.vmdk")+"-ctk.vmdk"),
		&types.FileFault{File: strings.TrimSuffix(disk.path, "-flat.vmdk") + "-ctk.vmdk"},
	}
	if disk.changeID == "" {
		return nil, ctkFault // change tracking was off when the snapshot was taken
	}
	end := req.StartOffset + c.pageBytes
	if end > disk.capacity {
		end = disk.capacity
	}
	info := &types.DiskChangeInfo{StartOffset: req.StartOffset, Length: end - req.StartOffset}
	var changed func(block int64) bool
	if req.ChangeId == "*" {
		f, err := os.Open(disk.path)
		if err != nil {
			return nil, ctkFault
		}
		extents, err := dataExtents(f, disk.capacity)
		f.Close()
		if err != nil {
			return nil, ctkFault
		}
		for _, e := range extents {
			first, last := e[0]/cbtBlockSize, (e[1]-1)/cbtBlockSize
			appendArea(info, first*cbtBlockSize, (last+1)*cbtBlockSize, req.StartOffset, end)
		}
		return info, nil
	}
	slash := strings.LastIndex(req.ChangeId, "/")
	if slash < 0 {
		return nil, &faultAnswer{"A specified parameter was not correct: changeId",
			&types.InvalidArgument{InvalidProperty: "changeId"}}
	}
	if _, err := strconv.Atoi(req.ChangeId[slash+1:]); err != nil {
		return nil, &faultAnswer{"A specified parameter was not correct: changeId",
			&types.InvalidArgument{InvalidProperty: "changeId"}}
	}
	t := c.trackers[diskID{vm: vm.Self.Value, key: req.DeviceKey}]
	var base, now []uint64
	if t != nil {
		for _, e := range t.epochs {
			if e.changeID == req.ChangeId {
				base = e.digests
			}
			if e.changeID == disk.changeID {
				now = e.digests
			}
		}
	}
	if base == nil || now == nil {
		return nil, ctkFault
	}
	changed = func(block int64) bool {
		var a, b uint64
		if block < int64(len(base)) {
			a = base[block]
		}
		if block < int64(len(now)) {
			b = now[block]
		}
		return a != b
	}
	for block := req.StartOffset / cbtBlockSize; block*cbtBlockSize < end; block++ {
		if changed(block) {
			appendArea(info, block*cbtBlockSize, (block+1)*cbtBlockSize, req.StartOffset, end)
		}
	}
	return info, nil
}

// appendArea adds [start, stop) clipped to [lo, hi) to info, merging with the last area.
func appendArea(info *types.DiskChangeInfo, start, stop, lo, hi int64) {
	if start < lo {
		start = lo
	}
	if stop > hi {
		stop = hi
	}
	if start >= stop {
		return
	}
	if n := len(info.ChangedArea); n > 0 {
		last := &info.ChangedArea[n-1]
		if last.Start+last.Length == start {
			last.Length += stop - start
			return
		}
	}
	info.ChangedArea = append(info.ChangedArea, types.DiskChangeExtent{Start: start, Length: stop - start})
}
