// Disk files of the simulator: where a datastore path lives, sparse copies and content
// digests of the frozen copies (see cbt.go).

package main

import (
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// seekData and seekHole are lseek's SEEK_DATA and SEEK_HOLE on Linux.
const (
	seekData = 3
	seekHole = 4
)

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
