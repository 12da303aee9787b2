/*
 * quantcheck_worker.h — internal: the worker process that hosts a plugin, and its protocol.
 * (Plugin authors need only quantcheck_plugin.h.)
 *
 * The parent (PluginHost/PluginWorker.swift) spawns `quantcheck plugin-worker …`, which calls
 * qcp_worker_main. They talk over a Unix stream socket (fd 3 in the worker) with fixed-size
 * little structs, and share one memory file (fd 4) holding:
 *
 *   [header page: the call in flight] [input region: capacity × 8 bytes] [output region: capacity × 4 bytes]
 *
 * (each region rounded up to whole pages). The parent writes inputs into the input region
 * (except for Float32 sweeps, whose inputs the worker generates), the worker writes outputs into
 * the output region. The plugin itself never sees shared memory: each call gets private
 * buffers with a PROT_NONE guard after in[] and out[] and canary bytes before out[], so that an
 * out-of-bounds access is caught at the call that made it.
 */
#ifndef QUANTCHECK_WORKER_H
#define QUANTCHECK_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Entry points, in the order of the worker's symbol arguments. */
enum {
    QCP_ENTRY_F32 = 0,
    QCP_ENTRY_F64 = 1,
    QCP_ENTRY_F16 = 2,
    QCP_ENTRY_BF16 = 3,
    QCP_ENTRY_DECODE = 4,
    QCP_ENTRY_COUNT = 5
};

enum {
    /* Encode the Float32 bit patterns start … start + count − 1 with the F32 entry point. */
    QCP_OP_SWEEP_F32 = 1,
    /* Run entry point `entry` on the first `count` inputs of the input region. */
    QCP_OP_CALL = 2,
    /* Exit cleanly. */
    QCP_OP_QUIT = 3
};

enum {
    QCP_STATUS_OK = 0,
    /* dlopen failed; the hello's text is dlerror(). */
    QCP_STATUS_LOAD_FAILED = 1,
    /* A byte before out[0] changed; detail = distance in bytes of the nearest one (≥ 1). */
    QCP_STATUS_WROTE_BEFORE_OUT = 2,
    /* Access to the guard page after out[n-1]; detail = byte offset past the end (≥ 0). */
    QCP_STATUS_ACCESS_PAST_OUT = 3,
    /* Access to the guard page after in[n-1]; detail = byte offset past the end (≥ 0). */
    QCP_STATUS_ACCESS_PAST_IN = 4,
    /* The request was malformed (a bug in quantcheck, not in the plugin). */
    QCP_STATUS_BAD_REQUEST = 5,
    /* The request names an entry point the library does not export. */
    QCP_STATUS_NO_SYMBOL = 6,
    /* The plugin replaced the worker's handler of signal `detail` (SIGSEGV or SIGBUS) during
     * the call, and no stray bytes were found in the guard areas: what its handler did to an
     * out-of-bounds access cannot be known. */
    QCP_STATUS_HANDLER_REPLACED = 7
};

#define QCP_MAGIC_REQUEST 0x51435251u  /* "QRCQ" */
#define QCP_MAGIC_RESPONSE 0x51435253u /* "SRCQ" */
#define QCP_MAGIC_HELLO 0x51435248u    /* "HRCQ" */
/* Default largest single plugin call (a prime, so that tails and odd sizes are exercised). */
#define QCP_DEFAULT_CHUNK 65521u
/* Exit status of a worker after it reported a fault itself. */
#define QCP_EXIT_AFTER_FAULT 70
/* Exit status of a worker that can no longer use its socket (the plugin closed or replaced
 * fd 3); the worker also sets `lost_connection` in the shared header, so that a plugin's own
 * exit(71) is not mistaken for it. */
#define QCP_EXIT_LOST_CONNECTION 71

typedef struct {
    uint32_t magic;
    uint32_t op;
    uint32_t entry;
    uint32_t reserved;
    uint64_t start;  /* QCP_OP_SWEEP_F32: first pattern; QCP_OP_CALL: label of the first input */
    uint64_t count;  /* number of inputs, ≤ capacity */
} qcp_request;

typedef struct {
    uint32_t magic;
    uint32_t status;
    int64_t detail;       /* see the status codes */
    uint64_t call_offset; /* for faults: first input of the faulting call, relative to the request */
    uint64_t call_count;  /* for faults: size of the faulting call */
    uint64_t nanos;       /* time spent inside the plugin for this request */
    int32_t access;       /* for guard-page faults: 1 write, 0 read, -1 unknown */
    uint32_t reserved;
} qcp_response;

typedef struct {
    uint32_t magic;
    uint32_t status;       /* QCP_STATUS_OK or QCP_STATUS_LOAD_FAILED */
    uint32_t found_mask;   /* bit e set when entry point e was found */
    uint32_t text_length;  /* bytes of text following this struct: plugin info or dlerror() */
} qcp_hello;

/* The header page of the shared memory: which plugin call is running (read by the parent after
 * a crash or a timeout, to narrow the fault to one call without restarting). */
typedef struct {
    volatile uint64_t sequence;    /* incremented before and after each call */
    volatile uint64_t call_offset; /* relative to the request */
    volatile uint64_t call_count;
    volatile uint64_t lost_connection; /* set just before exiting with QCP_EXIT_LOST_CONNECTION */
} qcp_shared_header;

/* Byte layout of the shared memory for a given capacity (elements per request). */
size_t qcp_shared_header_bytes(void);
size_t qcp_shared_input_bytes(uint64_t capacity);
size_t qcp_shared_output_bytes(uint64_t capacity);
size_t qcp_shared_total_bytes(uint64_t capacity);

/* Creates an anonymous shared memory file (memfd, close-on-exec, never numbered 0–2) of `bytes`
 * bytes; −errno on error. */
int qcp_shared_memory_create(size_t bytes);
/* Maps it read-write, shared; NULL on error. */
void *qcp_shared_memory_map(int fd, size_t bytes);
void qcp_shared_memory_unmap(void *base, size_t bytes);

/* Spawns `argv[0]` with `argv` (NULL-terminated) so that `sock` becomes fd 3 and `shm` fd 4 in the
 * child, stdin is /dev/null and stdout and stderr go to `output` (/dev/null if it is −1),
 * whatever numbers these descriptors have here (even 0–2). The child leads a new session, hence
 * a process group of its own (id = its pid) that qcp_end_worker kills as a whole.
 * Returns 0 and the pid, or an errno. */
int qcp_spawn(const char *path, char *const argv[], int sock, int shm, int output, pid_t *pid);

/* 1 when descriptor 2 is a standard error quantcheck inherited (open, not close-on-exec). */
int qcp_standard_error_usable(void);

/* A close-on-exec pipe, neither end numbered 0–2, for a worker's output; 0 or an errno. */
int qcp_output_pipe(int fds[2]);

/* A close-on-exec pidfd for a child (readable once it has exited), or −1 where the kernel has
 * none; the waits below then look at the child every few milliseconds instead. */
int qcp_pidfd_open(pid_t pid);

/* A connected close-on-exec stream socket pair, neither numbered 0–2; 0 or an errno. */
int qcp_socket_pair(int fds[2]);

/* Sends all `length` bytes (no SIGPIPE); 0, or an errno. */
int qcp_send_all(int fd, const void *data, size_t length);
/* Waits up to `timeout_ms` (−1: forever) for `length` bytes. Returns 1 when all arrived,
 * 0 on end of file, −ETIMEDOUT on timeout, another −errno on error. */
int qcp_receive_all(int fd, void *data, size_t length, int timeout_ms);

/* qcp_receive_all for a worker's socket: also returns QCP_RECEIVE_WORKER_ENDED as soon as worker
 * `pid` (pidfd: from qcp_pidfd_open, or −1) has exited, been killed or stopped without sending
 * all `length` bytes, even while processes it forked keep the socket open (no end of file). */
#define QCP_RECEIVE_WORKER_ENDED 2
int qcp_receive_from_worker(int fd, pid_t pid, int pidfd, void *data, size_t length, int timeout_ms);

/* How a worker ended. */
typedef struct {
    int signal;      /* the signal that killed or stopped it, or 0 */
    int exit_status; /* its exit status, or −1 */
    int stopped;     /* 0; 1 stopped by `signal` (job control); 2 stopped at `signal` under ptrace */
    int killed;      /* 1 when it had not ended within the grace time and was killed here */
} qcp_worker_end;

/* Ends worker `pid`: waits up to `grace_ms` for it to exit or stop on its own, then kills its
 * whole process group (the worker and whatever the plugin forked) and reaps it. Fills *end;
 * returns 0 or an errno. */
int qcp_end_worker(pid_t pid, int pidfd, int grace_ms, qcp_worker_end *end);

/* Worker entry: loads the library, resolves `symbols` (NULL or "" for entry points not wanted),
 * sends the hello, then serves requests until QUIT or end of file. Never returns. */
_Noreturn void qcp_worker_main(
    const char *library, const char *const symbols[QCP_ENTRY_COUNT], int code_bytes,
    uint64_t capacity, uint64_t chunk, long parent_pid);

#ifdef __cplusplus
}
#endif

#endif /* QUANTCHECK_WORKER_H */
