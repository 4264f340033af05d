/*
 * FAKE libvixDiskLib for forklift's tests. NOT VMware's VDDK.
 *
 * It exports the VixDiskLib entry points forklift uses, with VDDK 7.0's struct layouts
 * (see ../shared/reference/transfer-engine.md §4.1), and serves "disks" from local files:
 * the path given to VixDiskLib_Open is a file on this machine. It also enforces the rules
 * a real VDDK imposes, so the tests catch misuse:
 *   - InitEx before anything else, ConnectEx parameters filled in (moref=, thumbprint,
 *     user/password credentials, transports);
 *   - a handle is used only from the thread that opened it;
 *   - Open/Close never run concurrently;
 *   - reads and writes in whole 512-byte sectors inside the disk;
 *   - QueryAllocatedBlocks with chunk >= 128 sectors and chunk-aligned ranges.
 * Credentials: the password "wrong-password" is refused, as is any other than
 * $FAKE_VDDK_PASSWORD when that is set.
 * Datastore paths "[ds] dir/disk.vmdk" resolve to <libDir>/datastores/ds/dir/disk.vmdk; the
 * disk's data is its flat extent "dir/disk-flat.vmdk" when that exists (as VMware's descriptor
 * names it), else the file itself. Connected at a snapshot (ConnectEx's snapshotRef), Open
 * reads the snapshot's frozen copy that forklift's vCenter simulator (tools/vcsim, cbt.go)
 * keeps in "dir/<snapshotRef>/disk-flat.vmdk", and fails with FILE_NOT_FOUND without one,
 * as VDDK fails for an unknown snapshot. Tests link <libDir>/datastores/ds to the
 * simulator's datastore folder. Every ConnectEx + Open is appended to
 * <libDir>/connections.log as one line
 * "server=.. port=.. vmx=.. thumbprint=.. user=.. snapshot=.. transports=.. path=..",
 * so tests can check what a caller asked for (never the password).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef uint64_t VixError;
#define VIX_OK 0
#define VIX_E_FAIL 1
#define VIX_E_INVALID_ARG 3
#define VIX_E_FILE_NOT_FOUND 4
#define VIX_E_NOT_SUPPORTED 6
#define VIX_E_NOT_INITIALIZED 17
#define VIX_E_WRONG_THREAD 20000
#define VIX_E_LOGIN 20001
#define VIX_E_READ_ONLY 20002
#define VIX_E_CONCURRENT_OPEN 20003

typedef void VixDiskLibGenericLogFunc(const char *fmt, va_list args);

typedef struct {
  char *vmxSpec;
  char *serverName;
  char *thumbPrint;
  long reserved1;
  int credType;
  union {
    struct { char *userName; char *password; } uid;
    struct { char *cookie; char *userName; char *key; } sessionId;
    void *reserved2;
  } creds;
  uint32_t port;
  uint32_t nfcHostPort;
  char *reserved3;
  char reserved4[8];
  void *reserved5;
  union { struct { char *id; char *datastoreMoRef; char *ssId; } vStorageObjSpec; } spec;
  int specType;
} VixDiskLibConnectParams;

typedef struct { uint32_t cylinders, heads, sectors; } VixDiskLibGeometry;
typedef struct {
  VixDiskLibGeometry biosGeo, physGeo;
  uint64_t capacity;
  int adapterType;
  int numLinks;
  char *parentFileNameHint;
  char *uuid;
  uint32_t logicalSectorSize;
  uint32_t physicalSectorSize;
} VixDiskLibInfo;
typedef struct { uint64_t offset, length; } VixDiskLibBlock;
typedef struct { uint32_t numBlocks; VixDiskLibBlock blocks[1]; } VixDiskLibBlockList;

struct connection { int read_only; char snapshot[128]; char line[2048]; };
struct handle { int fd; int writable; uint64_t sectors; pthread_t owner; };

static int initialized;
static char lib_dir[4096];
static int in_open_close;
static VixDiskLibGenericLogFunc *log_fn;

static void say(const char *fmt, ...) {
  if (!log_fn) return;
  va_list args;
  va_start(args, fmt);
  log_fn(fmt, args);
  va_end(args);
}

VixError VixDiskLib_InitEx(uint32_t major, uint32_t minor, VixDiskLibGenericLogFunc *log,
                           VixDiskLibGenericLogFunc *warn, VixDiskLibGenericLogFunc *panic,
                           const char *libDir, const char *configFile) {
  (void)warn; (void)panic; (void)configFile;
  if (major < 6) return VIX_E_NOT_SUPPORTED;
  log_fn = log;
  initialized = 1;
  snprintf(lib_dir, sizeof lib_dir, "%s", libDir ? libDir : ".");
  say("fake VDDK %u.%u initialised from %s", major, minor, libDir ? libDir : "(null)");
  return VIX_OK;
}

void VixDiskLib_Exit(void) { initialized = 0; }

VixDiskLibConnectParams *VixDiskLib_AllocateConnectParams(void) {
  return calloc(1, sizeof(VixDiskLibConnectParams));
}
void VixDiskLib_FreeConnectParams(VixDiskLibConnectParams *p) { free(p); }

VixError VixDiskLib_ConnectEx(const VixDiskLibConnectParams *p, char readOnly,
                              const char *snapshotRef, const char *transportModes,
                              void **connection) {
  if (!initialized) return VIX_E_NOT_INITIALIZED;
  if (!p || !connection || !p->vmxSpec || strncmp(p->vmxSpec, "moref=", 6) != 0 ||
      !p->serverName || !p->thumbPrint || strlen(p->thumbPrint) != 59 || p->credType != 1 ||
      !p->creds.uid.userName || !p->creds.uid.password || !transportModes || p->specType != 0)
    return VIX_E_INVALID_ARG;
  const char *want = getenv("FAKE_VDDK_PASSWORD");
  if ((want && strcmp(want, p->creds.uid.password) != 0) ||
      strcmp(p->creds.uid.password, "wrong-password") == 0)
    return VIX_E_LOGIN;
  struct connection *c = calloc(1, sizeof *c);
  c->read_only = readOnly;
  if (snapshotRef) snprintf(c->snapshot, sizeof c->snapshot, "%s", snapshotRef);
  snprintf(c->line, sizeof c->line,
           "server=%s port=%u vmx=%s thumbprint=%s user=%s snapshot=%s transports=%s",
           p->serverName, p->port, p->vmxSpec, p->thumbPrint, p->creds.uid.userName,
           snapshotRef ? snapshotRef : "", transportModes);
  say("fake VDDK connected to %s for %s over %s", p->serverName, p->vmxSpec, transportModes);
  *connection = c;
  return VIX_OK;
}

VixError VixDiskLib_Disconnect(void *connection) {
  if (!connection) return VIX_E_INVALID_ARG;
  free(connection);
  return VIX_OK;
}

/* Turns the resolved descriptor path into the file holding the data (see the header). */
static void resolve_data_file(char *resolved, size_t size, const char *snapshot) {
  char stem[8192];
  snprintf(stem, sizeof stem, "%s", resolved);
  size_t n = strlen(stem);
  if (n >= 5 && strcmp(stem + n - 5, ".vmdk") == 0) stem[n - 5] = 0;
  if (n >= 10 && strcmp(resolved + n - 10, "-flat.vmdk") == 0) stem[n - 10] = 0;
  if (snapshot[0]) {
    char *slash = strrchr(stem, '/');
    if (slash)
      snprintf(resolved, size, "%.*s/%s/%s-flat.vmdk", (int)(slash - stem), stem, snapshot,
               slash + 1);
    else
      snprintf(resolved, size, "%s/%s-flat.vmdk", snapshot, stem);
    return;
  }
  char flat[8300];
  snprintf(flat, sizeof flat, "%s-flat.vmdk", stem);
  if (access(flat, F_OK) == 0) snprintf(resolved, size, "%s", flat);
}

VixError VixDiskLib_Open(void *connection, const char *path, uint32_t flags, void **out) {
  struct connection *c = connection;
  if (!c || !path || !out) return VIX_E_INVALID_ARG;
  if (__sync_lock_test_and_set(&in_open_close, 1)) return VIX_E_CONCURRENT_OPEN;
  usleep(2000); /* widen the window in which a concurrent Open would be caught */
  int writable = !(flags & 4) && !c->read_only;
  char resolved[8192];
  const char *close_bracket = path[0] == '[' ? strchr(path, ']') : NULL;
  if (close_bracket) {
    const char *rest = close_bracket + 1;
    while (*rest == ' ') rest++;
    snprintf(resolved, sizeof resolved, "%s/datastores/%.*s/%s", lib_dir,
             (int)(close_bracket - path - 1), path + 1, rest);
  } else {
    snprintf(resolved, sizeof resolved, "%s", path);
  }
  resolve_data_file(resolved, sizeof resolved, c->snapshot);
  char log_path[4200];
  snprintf(log_path, sizeof log_path, "%s/connections.log", lib_dir);
  FILE *log_file = fopen(log_path, "a");
  if (log_file) {
    fprintf(log_file, "%s path=%s\n", c->line, path);
    fclose(log_file);
  }
  int fd = open(resolved, writable ? O_RDWR : O_RDONLY);
  VixError err = VIX_OK;
  if (fd < 0) {
    err = VIX_E_FILE_NOT_FOUND;
  } else {
    struct stat st;
    fstat(fd, &st);
    struct handle *h = calloc(1, sizeof *h);
    h->fd = fd;
    h->writable = writable;
    h->sectors = (uint64_t)st.st_size / 512;
    h->owner = pthread_self();
    *out = h;
  }
  __sync_lock_release(&in_open_close);
  return err;
}

VixError VixDiskLib_Close(void *handle) {
  struct handle *h = handle;
  if (!h) return VIX_E_INVALID_ARG;
  if (!pthread_equal(h->owner, pthread_self())) return VIX_E_WRONG_THREAD;
  if (__sync_lock_test_and_set(&in_open_close, 1)) return VIX_E_CONCURRENT_OPEN;
  close(h->fd);
  free(h);
  __sync_lock_release(&in_open_close);
  return VIX_OK;
}

VixError VixDiskLib_GetInfo(void *handle, VixDiskLibInfo **info) {
  struct handle *h = handle;
  if (!h || !info) return VIX_E_INVALID_ARG;
  VixDiskLibInfo *i = calloc(1, sizeof *i);
  i->capacity = h->sectors;
  i->numLinks = 1;
  i->logicalSectorSize = i->physicalSectorSize = 512;
  *info = i;
  return VIX_OK;
}

void VixDiskLib_FreeInfo(VixDiskLibInfo *info) { free(info); }

const char *VixDiskLib_GetTransportMode(void *handle) { (void)handle; return "file"; }

static VixError check_io(struct handle *h, uint64_t start, uint64_t n) {
  if (!h) return VIX_E_INVALID_ARG;
  if (!pthread_equal(h->owner, pthread_self())) return VIX_E_WRONG_THREAD;
  if (start > h->sectors || n > h->sectors - start) return VIX_E_INVALID_ARG;
  return VIX_OK;
}

VixError VixDiskLib_Read(void *handle, uint64_t start, uint64_t n, uint8_t *buf) {
  struct handle *h = handle;
  VixError err = check_io(h, start, n);
  if (err) return err;
  ssize_t got = pread(h->fd, buf, n * 512, (off_t)(start * 512));
  return got == (ssize_t)(n * 512) ? VIX_OK : VIX_E_FAIL;
}

VixError VixDiskLib_Write(void *handle, uint64_t start, uint64_t n, const uint8_t *buf) {
  struct handle *h = handle;
  VixError err = check_io(h, start, n);
  if (err) return err;
  if (!h->writable) return VIX_E_READ_ONLY;
  ssize_t put = pwrite(h->fd, buf, n * 512, (off_t)(start * 512));
  return put == (ssize_t)(n * 512) ? VIX_OK : VIX_E_FAIL;
}

VixError VixDiskLib_QueryAllocatedBlocks(void *handle, uint64_t start, uint64_t n,
                                         uint64_t chunk, VixDiskLibBlockList **out) {
  struct handle *h = handle;
  VixError err = check_io(h, start, n);
  if (err) return err;
  if (chunk < 128 || start % chunk || n % chunk || n / chunk > 512 * 1024 || !out)
    return VIX_E_INVALID_ARG;
  uint64_t chunks = n / chunk;
  VixDiskLibBlockList *list = calloc(1, sizeof *list + chunks * sizeof(VixDiskLibBlock));
  uint8_t *buf = malloc(chunk * 512);
  for (uint64_t i = 0; i < chunks; i++) {
    uint64_t s = start + i * chunk;
    if (pread(h->fd, buf, chunk * 512, (off_t)(s * 512)) != (ssize_t)(chunk * 512)) {
      free(buf); free(list); return VIX_E_FAIL;
    }
    int nonzero = 0;
    for (uint64_t b = 0; b < chunk * 512; b++) if (buf[b]) { nonzero = 1; break; }
    if (!nonzero) continue;
    VixDiskLibBlock *last = list->numBlocks ? &list->blocks[list->numBlocks - 1] : NULL;
    if (last && last->offset + last->length == s) last->length += chunk;
    else list->blocks[list->numBlocks++] = (VixDiskLibBlock){ s, chunk };
  }
  free(buf);
  *out = list;
  return VIX_OK;
}

VixError VixDiskLib_FreeBlockList(VixDiskLibBlockList *list) { free(list); return VIX_OK; }

char *VixDiskLib_GetErrorText(VixError err, const char *locale) {
  (void)locale;
  const char *text;
  switch (err & 0xFFFF) {
  case VIX_E_INVALID_ARG: text = "One of the parameters was invalid"; break;
  case VIX_E_FILE_NOT_FOUND: text = "The system cannot find the file specified"; break;
  case VIX_E_NOT_INITIALIZED: text = "VixDiskLib is not initialized"; break;
  case VIX_E_WRONG_THREAD: text = "FAKE: handle used from a thread other than its opener"; break;
  case VIX_E_LOGIN: text = "Cannot connect to the host: incorrect user name or password"; break;
  case VIX_E_READ_ONLY: text = "The disk was opened read-only"; break;
  case VIX_E_CONCURRENT_OPEN: text = "FAKE: Open/Close called concurrently"; break;
  default: text = "Unknown error"; break;
  }
  return strdup(text);
}

void VixDiskLib_FreeErrorText(char *text) { free(text); }
