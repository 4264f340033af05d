// VMware Tools and guest shutdown for the simulator.
//
// govmomi's simulator (Debian 0.24) reports every VM with guestToolsNotRunning and yet powers
// a VM off at once on ShutdownGuest. vSphere refuses ShutdownGuest with ToolsUnavailable when
// the tools are not running, and with them running it answers at once and the guest powers
// off when it has shut down. This file makes the simulator behave that way, keeping vim25's
// wire shapes:
//
//   - -tools-running NAMES (comma-separated VM names, or "*"): those VMs report
//     guest.toolsRunningStatus guestToolsRunning and guest.toolsStatus toolsOk (also in the
//     summary), as a VM with VMware Tools installed and running does.
//   - ShutdownGuest on a powered-on VM without running tools: a ToolsUnavailable fault.
//   - ShutdownGuest on a powered-on VM with running tools: an empty ShutdownGuestResponse at
//     once; the VM reaches poweredOff (through the simulator's own ShutdownGuest, which
//     posts VmGuestShutdownEvent and VmPoweredOffEvent) -guest-shutdown later.
//   - POST /forklift/tools?vm=NAME&running=true|false (not vim25: the tests' hand on the
//     guest) starts or stops the tools of a VM while the simulator runs, as a guest whose
//     tools service stops; it changes only what ShutdownGuest does, not the inventory.
//   - Anything else (a VM that is off, an unknown VM) goes to the simulator, which answers
//     as vSphere does (InvalidPowerState, ManagedObjectNotFound).

package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// toolsControlPath is where tests start and stop a VM's tools (see the file comment).
const toolsControlPath = "/forklift/tools"

// guestTools holds the VMs whose VMware Tools run and how long their guests take to shut down.
type guestTools struct {
	mu       sync.Mutex
	running  map[string]bool // by VM MoRef value
	shutdown time.Duration
}

// isRunning tells whether the tools of the VM with MoRef value ref run.
func (g *guestTools) isRunning(ref string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running[ref]
}

// control answers POST /forklift/tools?vm=NAME&running=BOOL with 204, or 400/404.
func (g *guestTools) control(w http.ResponseWriter, r *http.Request) {
	running, err := strconv.ParseBool(r.URL.Query().Get("running"))
	if r.Method != http.MethodPost || err != nil {
		http.Error(w, "POST ?vm=NAME&running=true|false", http.StatusBadRequest)
		return
	}
	name := r.URL.Query().Get("vm")
	for _, entity := range simulator.Map.All("VirtualMachine") {
		if vm, ok := entity.(*simulator.VirtualMachine); ok && vm.Name == name {
			g.mu.Lock()
			g.running[vm.Self.Value] = running
			g.mu.Unlock()
			log.Printf("vcsim: tools of %s running: %v", name, running)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	http.Error(w, "no such VM", http.StatusNotFound)
}

// setToolsRunning marks the VMs named in list ("*": all) as running VMware Tools.
func setToolsRunning(list string, shutdown time.Duration) *guestTools {
	g := &guestTools{running: map[string]bool{}, shutdown: shutdown}
	names := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name != "" {
			names[name] = true
		}
	}
	if len(names) == 0 {
		return g
	}
	for _, entity := range simulator.Map.All("VirtualMachine") {
		vm, ok := entity.(*simulator.VirtualMachine)
		if !ok || !(names["*"] || names[vm.Name]) {
			continue
		}
		g.running[vm.Self.Value] = true
		running := string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
		vm.Guest.ToolsRunningStatus = running
		vm.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsOk
		vm.Guest.ToolsVersionStatus2 = string(types.VirtualMachineToolsVersionStatusGuestToolsCurrent)
		if vm.Summary.Guest != nil {
			vm.Summary.Guest.ToolsRunningStatus = running
			vm.Summary.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsOk
			vm.Summary.Guest.ToolsVersionStatus2 = vm.Guest.ToolsVersionStatus2
		}
	}
	return g
}

// shutdownGuest answers ShutdownGuest as vSphere does (see the file comment).
func (c *cbt) shutdownGuest(w http.ResponseWriter, r *http.Request, req *types.ShutdownGuest) {
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		c.passThrough.ServeHTTP(w, r)
		return
	}
	if !c.authenticated(w, r) {
		return
	}
	var on bool
	simulator.Map.WithLock(vm, func() {
		on = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
	})
	if !on {
		c.passThrough.ServeHTTP(w, r)
		return
	}
	if !c.tools.isRunning(vm.Self.Value) {
		writeFault(w, &faultAnswer{"Cannot complete operation because VMware Tools is not running in this virtual machine.",
			&types.ToolsUnavailable{}})
		return
	}
	if c.tools.shutdown <= 0 {
		c.passThrough.ServeHTTP(w, r)
		return
	}
	// The guest shuts down on its own time: replay the request to the simulator later.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// Not the request's context: it ends when this answer is written.
	later := r.Clone(context.Background())
	go func() {
		time.Sleep(c.tools.shutdown)
		replay := later.Clone(context.Background())
		replay.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		c.passThrough.ServeHTTP(rec, replay)
		if rec.Code != http.StatusOK {
			log.Printf("vcsim: guest shutdown of %s: %d %s", vm.Self.Value, rec.Code, rec.Body.String())
		}
	}()
	writeBody(w, "ShutdownGuestResponse", &types.ShutdownGuestResponse{})
}
