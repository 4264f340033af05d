// Command vcsim runs govmomi's vCenter simulator (simulator.VPX) for forklift's tests.
//
// It listens on 127.0.0.1 with a random port and TLS on, prints the SDK URL on the first
// line of stdout and the path of a PEM file holding the CA that signed the server
// certificate on the second, then serves until stdin is closed or the process is killed.
//
// The server certificate is made at start (ECDSA P-256, a leaf for 127.0.0.1 and ::1 signed
// by a fresh CA): the simulator's built-in certificate is a 1024-bit RSA CA that modern TLS
// stacks rightly refuse.
//
// Snapshots keep a frozen copy of each disk's data and QueryChangedDiskAreas answers from
// it (cbt.go). ShutdownGuest needs running VMware Tools (-tools-running, guest.go).
// -vm-disks and -disk-mib give every VM more or bigger disks (disks.go).
// SIGTERM and SIGINT end the simulator like closing stdin, removing its datastore folders.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	datacenters := flag.Int("dc", 1, "number of datacenters")
	clusters := flag.Int("cluster", 1, "number of clusters per datacenter")
	clusterHosts := flag.Int("host", 3, "number of hosts per cluster")
	standaloneHosts := flag.Int("standalone-host", 1, "number of standalone hosts per datacenter")
	vms := flag.Int("vm", 2, "number of virtual machines per resource pool")
	datastores := flag.Int("ds", 1, "number of datastores")
	portgroups := flag.Int("pg", 1, "number of distributed port groups per datacenter")
	opaque := flag.Int("nsx", 0, "number of opaque (NSX) networks per datacenter")
	folders := flag.Int("folder", 0, "number of folders to nest each datacenter in")
	esx := flag.Bool("esx", false, "simulate a standalone ESXi host instead of vCenter")
	username := flag.String("username", "", "accept only this user name (default: any non-empty)")
	password := flag.String("password", "", "password of -username")
	maxLevels := flag.Int("max-snapshot-levels", defaultMaxSnapshotLevels,
		"snapshot chain depth past which CreateSnapshot_Task fails with TooManySnapshotLevels")
	pageBytes := flag.Int64("cbt-page-bytes", defaultCBTPageBytes,
		"disk range one QueryChangedDiskAreas answer covers (the client loops over startOffset)")
	vmDisks := flag.Int("vm-disks", 1, "number of disks of every virtual machine")
	diskMiB := flag.Int64("disk-mib", 0, "capacity of every disk in MiB (default: the simulator's 1 MiB)")
	fillMiB := flag.Int64("fill-mib", 0, "MiB of pseudo-random data written at the start of every disk")
	toolsRunning := flag.String("tools-running", "", "VMs (comma-separated names, or *) whose VMware Tools run: ShutdownGuest works for them (guest.go)")
	guestShutdown := flag.Duration("guest-shutdown", 0, "how long a guest with running tools takes to power off after ShutdownGuest")
	describeFile := flag.String("describe", "", "write the disks (vm, name, key, capacity, file, local path) to this file")
	flag.Parse()

	model := simulator.VPX()
	if *esx {
		model = simulator.ESX()
	} else {
		model.Datacenter = *datacenters
		model.Cluster = *clusters
		model.ClusterHost = *clusterHosts
		model.Host = *standaloneHosts
		model.Portgroup = *portgroups
		model.OpaqueNetwork = *opaque
		model.Folder = *folders
	}
	model.Machine = *vms
	model.Datastore = *datastores

	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: create model: %v", err)
	}
	defer model.Remove()
	if err := shapeDisks(*vmDisks, *diskMiB); err != nil {
		log.Fatalf("vcsim: disks: %v", err)
	}
	if err := fillDisks(*fillMiB); err != nil {
		log.Fatalf("vcsim: filling disks: %v", err)
	}
	tools := setToolsRunning(*toolsRunning, *guestShutdown)
	if *describeFile != "" {
		if err := describe(*describeFile); err != nil {
			log.Fatalf("vcsim: describing disks: %v", err)
		}
	}

	serverCert, caPEM, err := makeCertificates()
	if err != nil {
		log.Fatalf("vcsim: certificates: %v", err)
	}
	caFile, err := ioutil.TempFile("", "vcsim-ca-")
	if err != nil {
		log.Fatalf("vcsim: CA file: %v", err)
	}
	defer os.Remove(caFile.Name())
	if _, err := caFile.Write(caPEM); err != nil {
		log.Fatalf("vcsim: CA file: %v", err)
	}
	caFile.Close()

	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
	model.Service.Listen = &url.URL{Host: "127.0.0.1:0"}
	if *username != "" {
		model.Service.Listen.User = url.UserPassword(*username, *password)
	}
	server := model.Service.NewServer()
	defer server.Close()
	// Set before the URL is printed, hence before any request reaches the server.
	handler := newCBT(server.Config.Handler, *maxLevels, *pageBytes)
	handler.tools = tools
	server.Config.Handler = handler

	sdk := *server.URL
	sdk.User = nil
	fmt.Println(sdk.String())
	fmt.Println(caFile.Name())
	os.Stdout.Sync()

	// Serve until our parent closes stdin or signals us: no orphan simulators, and the
	// deferred calls remove the datastore folders.
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-signals:
	}
}

// defaultMaxSnapshotLevels is VMware's limit on the depth of a VM's snapshot chain.
const defaultMaxSnapshotLevels = 32

// defaultCBTPageBytes is the disk range one QueryChangedDiskAreas answer covers.
const defaultCBTPageBytes = 2 << 30

// makeCertificates returns a server certificate for loopback signed by a fresh CA, and the
// CA certificate as PEM.
func makeCertificates() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	notBefore := time.Now().Add(-time.Hour)
	notAfter := notBefore.Add(48 * time.Hour)
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "forklift test CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return cert, caPEM, nil
}
