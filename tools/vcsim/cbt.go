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
	"encoding/xml"
	"fmt"
	"hash/maphash"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"

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

// seekData and seekHole are lseek's SEEK_DATA and SEEK_HOLE on Linux.
const (
	seekData = 3
	seekHole = 4
)

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
		passThrough: next,
	}
}

func (c *cbt) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

// authenticated answers true when the request's session may call methods; otherwise it has
// written the simulator's own NotAuthenticated fault. It asks the simulator with a
// CurrentTime call carrying the request's headers, so sessions stay the simulator's business.
func (c *cbt) authenticated(w http.ResponseWriter, r *http.Request) bool {
	probe := xml.Header + `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
		`<soapenv:Body><CurrentTime xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this>` +
		`</CurrentTime></soapenv:Body></soapenv:Envelope>`
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(strings.NewReader(probe))
	req.ContentLength = int64(len(probe))
	rec := httptest.NewRecorder()
	c.passThrough.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		return true
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	return false
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

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
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

// datastoreDir is the local directory behind a datastore name.
func datastoreDir(name string) (string, bool) {
	for _, entity := range simulator.Map.All("Datastore") {
		if ds, ok := entity.(*simulator.Datastore); ok && ds.Name == name {
			return ds.Info.GetDatastoreInfo().Url, true
		}
	}
	return "", false
}

// localDisk maps "[ds] dir/disk.vmdk" to the local file holding the disk's data: the flat
// extent "dir/disk-flat.vmdk" when it exists, else the file itself.
func localDisk(fileName string) (string, error) {
	var p struct{ ds, rest string }
	if !strings.HasPrefix(fileName, "[") || !strings.Contains(fileName, "]") {
		return "", fmt.Errorf("not a datastore path: %q", fileName)
	}
	end := strings.Index(fileName, "]")
	p.ds = fileName[1:end]
	p.rest = strings.TrimSpace(fileName[end+1:])
	dir, ok := datastoreDir(p.ds)
	if !ok {
		return "", fmt.Errorf("datastore %q not found", p.ds)
	}
	base := filepath.Join(dir, filepath.FromSlash(p.rest))
	flat := strings.TrimSuffix(base, ".vmdk") + "-flat.vmdk"
	if _, err := os.Stat(flat); err == nil {
		return flat, nil
	}
	return base, nil
}

func diskBacking(d *types.VirtualDisk) (*types.VirtualDeviceFileBackingInfo, *string) {
	switch b := d.Backing.(type) {
	case *types.VirtualDiskFlatVer2BackingInfo:
		return &b.VirtualDeviceFileBackingInfo, &b.ChangeId
	case *types.VirtualDiskSparseVer2BackingInfo:
		return &b.VirtualDeviceFileBackingInfo, &b.ChangeId
	case *types.VirtualDiskSeSparseBackingInfo:
		return &b.VirtualDeviceFileBackingInfo, &b.ChangeId
	case *types.VirtualDiskRawDiskMappingVer1BackingInfo:
		return &b.VirtualDeviceFileBackingInfo, &b.ChangeId
	}
	return nil, nil
}

// copyDisk returns a copy of d whose backing can be changed without touching d's.
func copyDisk(d *types.VirtualDisk) *types.VirtualDisk {
	out := *d
	if d.Backing != nil {
		v := reflect.ValueOf(d.Backing)
		if v.Kind() == reflect.Ptr && !v.IsNil() {
			c := reflect.New(v.Elem().Type())
			c.Elem().Set(v.Elem())
			if b, ok := c.Interface().(types.BaseVirtualDeviceBackingInfo); ok {
				out.Backing = b
			}
		}
	}
	return &out
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

// digest hashes each 64 KiB block of the first capacity bytes of file; bytes past its end
// read as zeroes, and holes are hashed without reading them.
func (c *cbt) digest(file string, capacity int64) ([]uint64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blocks := (capacity + cbtBlockSize - 1) / cbtBlockSize
	out := make([]uint64, blocks)
	zero := make([]byte, cbtBlockSize)
	var h maphash.Hash
	h.SetSeed(c.seed)
	_, _ = h.Write(zero)
	zeroDigest := h.Sum64()
	for i := range out {
		out[i] = zeroDigest
	}
	extents, err := dataExtents(f, capacity)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, cbtBlockSize)
	for _, e := range extents {
		for b := e[0] / cbtBlockSize; b*cbtBlockSize < e[1]; b++ {
			n, err := f.ReadAt(buf, b*cbtBlockSize)
			if err != nil && err != io.EOF {
				return nil, err
			}
			copy(buf[n:], zero)
			h.Reset()
			_, _ = h.Write(buf)
			out[b] = h.Sum64()
		}
	}
	return out, nil
}

// dataExtents lists [start, end) ranges of f below limit that hold data, per SEEK_DATA and
// SEEK_HOLE (a file system without them reports the whole file as data).
func dataExtents(f *os.File, limit int64) ([][2]int64, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := info.Size()
	if size > limit {
		size = limit
	}
	var out [][2]int64
	fd := int(f.Fd())
	for pos := int64(0); pos < size; {
		start, err := syscall.Seek(fd, pos, seekData)
		if err == syscall.ENXIO {
			break
		} else if err != nil {
			return [][2]int64{{0, size}}, nil
		}
		if start >= size {
			break
		}
		end, err := syscall.Seek(fd, start, seekHole)
		if err != nil || end > size {
			end = size
		}
		out = append(out, [2]int64{start, end})
		pos = end
	}
	return out, nil
}

// sparseCopy copies the data extents of src to a new dst of size capacity: holes stay holes.
func sparseCopy(src, dst string, capacity int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	extents, err := dataExtents(in, capacity)
	if err == nil {
		for _, e := range extents {
			if _, err = in.Seek(e[0], io.SeekStart); err != nil {
				break
			}
			if _, err = out.Seek(e[0], io.SeekStart); err != nil {
				break
			}
			if _, err = io.CopyN(out, in, e[1]-e[0]); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = out.Truncate(capacity)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
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

type faultAnswer struct {
	message string
	fault   types.BaseMethodFault
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

const envelopeStart = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
	`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`
const envelopeEnd = `</soapenv:Body></soapenv:Envelope>`

// writeBody answers a method with its response element, as the simulator does.
func writeBody(w http.ResponseWriter, element string, response interface{}) {
	var b bytes.Buffer
	b.WriteString(xml.Header + envelopeStart)
	e := xml.NewEncoder(&b)
	start := xml.StartElement{Name: xml.Name{Local: element}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"}}}
	if err := e.EncodeElement(response, start); err != nil {
		log.Printf("vcsim: encoding %s: %v", element, err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	_ = e.Flush()
	b.WriteString(envelopeEnd)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// writeFault answers with a SOAP fault whose detail is the vim25 fault, as vSphere does.
func writeFault(w http.ResponseWriter, f *faultAnswer) {
	name := reflect.TypeOf(f.fault).Elem().Name()
	var b bytes.Buffer
	b.WriteString(xml.Header + envelopeStart + `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>`)
	_ = xml.EscapeText(&b, []byte(f.message))
	b.WriteString(`</faultstring><detail>`)
	e := xml.NewEncoder(&b)
	start := xml.StartElement{Name: xml.Name{Local: name + "Fault"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"},
		{Name: xml.Name{Local: "xsi:type"}, Value: name},
	}}
	if err := e.EncodeElement(f.fault, start); err != nil {
		log.Printf("vcsim: encoding %s: %v", name, err)
	}
	_ = e.Flush()
	b.WriteString(`</detail></soapenv:Fault>` + envelopeEnd)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(b.Bytes())
}
