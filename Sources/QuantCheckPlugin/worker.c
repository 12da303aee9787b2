// The plugin worker process and the small POSIX helpers its parent needs (see quantcheck_worker.h).
//
// Why a separate process: the library under test is arbitrary native code. Loaded into quantcheck
// itself, one wild write or infinite loop would take the whole run (and its results) down. In a
// child process a crash is a signal the parent observes, a hang is a timeout the parent enforces
// with SIGKILL, and the parent's memory is out of reach.
#define _GNU_SOURCE
#include "quantcheck_worker.h"
#include "quantcheck_plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

extern char **environ;

// MARK: - Layout

static size_t page_size(void) {
    static size_t cached;
    if (!cached) cached = (size_t)sysconf(_SC_PAGESIZE);
    return cached;
}

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

size_t qcp_shared_header_bytes(void) { return page_size(); }
size_t qcp_shared_input_bytes(uint64_t capacity) { return round_up((size_t)capacity * 8, page_size()); }
size_t qcp_shared_output_bytes(uint64_t capacity) { return round_up((size_t)capacity * 4, page_size()); }
size_t qcp_shared_total_bytes(uint64_t capacity) {
    return qcp_shared_header_bytes() + qcp_shared_input_bytes(capacity) + qcp_shared_output_bytes(capacity);
}

// MARK: - Parent-side helpers

// Moves a new descriptor of ours off 0–2. When quantcheck runs with stdout or stderr closed, the
// memfd or a socket would otherwise take that number, and quantcheck's own output (print) would
// be written into the shared memory or the worker's socket. Returns the descriptor, or −1.
static int off_standard_numbers(int fd) {
    if (fd < 0 || fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int e = errno;
    close(fd);
    errno = e;
    return moved;
}

int qcp_shared_memory_create(size_t bytes) {
    int fd = off_standard_numbers(memfd_create("quantcheck-plugin", MFD_CLOEXEC));
    if (fd < 0) return -errno;
    if (ftruncate(fd, (off_t)bytes) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

void *qcp_shared_memory_map(int fd, size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

void qcp_shared_memory_unmap(void *base, size_t bytes) { munmap(base, bytes); }

int qcp_socket_pair(int fds[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return errno;
    fds[0] = off_standard_numbers(fds[0]);
    fds[1] = off_standard_numbers(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int e = errno;
        if (fds[0] >= 0) close(fds[0]);
        if (fds[1] >= 0) close(fds[1]);
        return e;
    }
    return 0;
}

int qcp_standard_error_usable(void) {
    // When quantcheck was started with descriptor 2 closed, that number may have gone to one of
    // its own descriptors (Foundation's, ours), and writing "stderr" would write into it. Those
    // are all close-on-exec; a real stderr, inherited through exec, is not.
    int flags = fcntl(2, F_GETFD);
    return flags >= 0 && !(flags & FD_CLOEXEC);
}

int qcp_output_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;
    fds[0] = off_standard_numbers(fds[0]);
    fds[1] = off_standard_numbers(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int e = errno;
        if (fds[0] >= 0) close(fds[0]);
        if (fds[1] >= 0) close(fds[1]);
        return e;
    }
    return 0;
}

int qcp_spawn(const char *path, char *const argv[], int sock, int shm, int output, pid_t *pid) {
    // Move both descriptors above the target numbers first, so that dup2(sock, 3) cannot close
    // shm if it happened to be 3 (and dup2(x, x) would not clear close-on-exec). The copies are
    // close-on-exec, so a worker spawned concurrently by another thread never inherits them.
    int s = fcntl(sock, F_DUPFD_CLOEXEC, 10);
    if (s < 0) return errno;
    int m = fcntl(shm, F_DUPFD_CLOEXEC, 10);
    if (m < 0) {
        int e = errno;
        close(s);
        return e;
    }
    // The worker's stdout and stderr: `output` (the parent's relay pipe), or /dev/null. Never a
    // descriptor inherited by number: with quantcheck's 2 closed, dup2(2, 1) handed the plugin
    // quantcheck's own socket as its stdout, and a banner line garbled the protocol. Like the
    // others, the copy is taken above the target numbers.
    int e = output >= 0 ? fcntl(output, F_DUPFD_CLOEXEC, 10) : -1;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    // Every one of 0–4 is set explicitly, from descriptors ≥ 10 or /dev/null, so the order of
    // the actions cannot matter and nothing of ours below 10 leaks into the worker's 0–2.
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (e >= 0) {
        posix_spawn_file_actions_adddup2(&actions, e, 1);
        posix_spawn_file_actions_adddup2(&actions, e, 2);
    } else {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, s, 3);
    posix_spawn_file_actions_adddup2(&actions, m, 4);
    // A clean signal state: nothing blocked, default dispositions for what the parent may ignore.
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    // A session (and so a process group) of its own, led by the worker: whatever the plugin
    // forks stays in it and dies with it (qcp_end_worker kills the group), and with no
    // controlling terminal the worker is never stopped by job control (SIGTTOU, SIGTSTP).
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
    int r = posix_spawn(pid, path, &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(s);
    close(m);
    if (e >= 0) close(e);
    return r;
}

int qcp_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    int fd = off_standard_numbers((int)syscall(SYS_pidfd_open, pid, 0));  // pidfds are close-on-exec
    return fd < 0 ? -1 : fd;
#else
    (void)pid;
    return -1;
#endif
}

int qcp_send_all(int fd, const void *data, size_t length) {
    const uint8_t *p = data;
    while (length > 0) {
        ssize_t k = send(fd, p, length, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += k;
        length -= (size_t)k;
    }
    return 0;
}

static int64_t monotonic_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int qcp_receive_all(int fd, void *data, size_t length, int timeout_ms) {
    uint8_t *p = data;
    int64_t deadline = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
    while (length > 0) {
        if (deadline >= 0) {
            int64_t left = deadline - monotonic_ms();
            if (left <= 0) return -ETIMEDOUT;
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int r = poll(&pfd, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
            if (r < 0) {
                if (errno == EINTR) continue;
                return -errno;
            }
            if (r == 0) return -ETIMEDOUT;
        }
        ssize_t k = recv(fd, p, length, 0);
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return -errno;
        }
        if (k == 0) return 0;
        p += k;
        length -= (size_t)k;
    }
    return 1;
}

// Has the worker exited, been killed, or stopped (a ptrace stop or a job-control stop)? Peeks
// without reaping (WNOWAIT), so that qcp_end_worker still finds the status. A traced worker
// (the plugin called ptrace(PTRACE_TRACEME)) does not die of a crash: it stops, and would
// otherwise look hung until the time limit.
static int worker_ended(pid_t pid, siginfo_t *info) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
    if (info) *info = si;
    return si.si_pid == pid;
}

// How often a wait looks at the worker's state when nothing wakes it: the pidfd wakes the wait
// at once when the worker exits, but not when it stops, and there is no pidfd on old kernels.
static const int poll_slice_ms = 50;

int qcp_receive_from_worker(int fd, pid_t pid, int pidfd, void *data, size_t length, int timeout_ms) {
    uint8_t *p = data;
    int64_t deadline = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
    while (length > 0) {
        int wait = poll_slice_ms;
        if (deadline >= 0) {
            int64_t left = deadline - monotonic_ms();
            if (left <= 0) return -ETIMEDOUT;
            if (left < wait) wait = (int)left;
        }
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
        int r = poll(pfd, pidfd >= 0 ? 2 : 1, wait);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (pfd[0].revents) {
            ssize_t k = recv(fd, p, length, MSG_DONTWAIT);
            if (k > 0) {
                p += k;
                length -= (size_t)k;
                continue;
            }
            if (k == 0) return 0;
            if (errno != EINTR && errno != EAGAIN) return -errno;
        }
        // Nothing (more) to read. The socket alone cannot tell that the worker is gone: a
        // process the plugin forked holds a copy of it and keeps it open.
        if (worker_ended(pid, NULL)) {
            // Everything the worker sent before it ended is in the socket by now.
            for (;;) {
                ssize_t k = recv(fd, p, length, MSG_DONTWAIT);
                if (k <= 0) break;
                p += k;
                length -= (size_t)k;
                if (length == 0) return 1;
            }
            return QCP_RECEIVE_WORKER_ENDED;
        }
    }
    return 1;
}

int qcp_end_worker(pid_t pid, int pidfd, int grace_ms, qcp_worker_end *end) {
    memset(end, 0, sizeof *end);
    end->exit_status = -1;
    if (pid <= 1) return EINVAL;  // kill(-pid) below: never the caller's group or every process
    // 1. Give it `grace_ms` to end on its own, and learn how it ended (without reaping yet).
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int64_t deadline = monotonic_ms() + (grace_ms < 0 ? 0 : grace_ms);
    while (!worker_ended(pid, &si)) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) {
            end->killed = 1;
            break;
        }
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        int wait = left < poll_slice_ms ? (int)left : poll_slice_ms;
        if (pidfd >= 0) poll(&pfd, 1, wait);
        else poll(NULL, 0, wait);
    }
    if (!end->killed) {
        if (si.si_code == CLD_EXITED) {
            end->exit_status = si.si_status;
        } else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED) {
            end->signal = si.si_status;
        } else if (si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED) {
            end->signal = si.si_status;
            end->stopped = si.si_code == CLD_TRAPPED ? 2 : 1;
        }
    }
    // 2. Kill its process group: the worker if it still runs or is stopped (SIGKILL ends a
    // traced or stopped process too), and everything the plugin forked. The group outlives a
    // worker that already exited as long as one of its members lives, so its id is still ours.
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    // 3. Reap it. Stop reports (a traced worker reports them without WUNTRACED) are skipped:
    // the SIGKILL above ends it.
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (end->killed || (end->exit_status < 0 && end->signal == 0)) {
                end->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
                end->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            }
            return 0;
        }
    }
}

// MARK: - Worker

typedef void (*generic_entry)(const void *in, void *out, size_t n);

// Guarded private buffers: [data][guard]. A call's n elements end exactly at the guard.
typedef struct {
    uint8_t *start;  // first byte of the data part
    uint8_t *end;    // first byte of the guard
    size_t guard;
} guarded_buffer;

static const size_t guard_bytes = 64 * 1024;

static int guarded_buffer_make(guarded_buffer *b, size_t data_bytes) {
    data_bytes = round_up(data_bytes, page_size());
    uint8_t *p = mmap(NULL, data_bytes + guard_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    if (mprotect(p, data_bytes, PROT_READ | PROT_WRITE) != 0) return -1;
    b->start = p;
    b->end = p + data_bytes;
    b->guard = guard_bytes;
    return 0;
}

// State the fault handler reads. Written only by the worker's one thread, outside the handler.
static int g_socket = 3;
static volatile sig_atomic_t g_in_call;
static guarded_buffer g_in, g_out_codes, g_out_floats;
static uint64_t g_call_offset, g_call_count;

static int access_was_write(void *context) {
#if defined(__x86_64__)
    // Bit 1 of the page-fault error code is set for writes.
    const ucontext_t *uc = context;
    return (uc->uc_mcontext.gregs[REG_ERR] & 2) ? 1 : 0;
#else
    (void)context;
    return -1;
#endif
}

static int in_guard(const guarded_buffer *b, uintptr_t a) {
    return b->end && a >= (uintptr_t)b->end && a < (uintptr_t)b->end + b->guard;
}

// Dies of `sig` with its default action, so that the parent sees the worker killed by it (and
// the bisection pins the crash to its input). Async-signal-safe.
static _Noreturn void die_of(int sig) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    raise(sig);                              // pending while blocked (inside the handler) …
    sigprocmask(SIG_UNBLOCK, &set, NULL);     // … delivered here: the default action kills
    _exit(QCP_EXIT_AFTER_FAULT);             // not reached for SIGSEGV / SIGBUS
}

// SIGSEGV/SIGBUS: a fault in a guard page during a plugin call is reported precisely. Anything
// else is a crash: the default action, re-raised. Returning would be wrong twice over: a
// signal the plugin raised itself (raise, kill, sigqueue) would just resume the plugin, and a
// real fault would only repeat. Only guard-page faults the kernel reports are ours: signals
// sent by a process (si_code ≤ 0: SI_USER, SI_TKILL, SI_QUEUE…) never are.
// Only async-signal-safe calls here (send, sigaction, raise, _exit).
static void on_fault(int sig, siginfo_t *info, void *context) {
    if (!g_in_call || sig != SIGSEGV || info->si_code != SEGV_ACCERR) die_of(sig);
    uintptr_t a = (uintptr_t)info->si_addr;
    qcp_response r;
    memset(&r, 0, sizeof r);
    r.magic = QCP_MAGIC_RESPONSE;
    if (in_guard(&g_out_codes, a)) {
        r.status = QCP_STATUS_ACCESS_PAST_OUT;
        r.detail = (int64_t)(a - (uintptr_t)g_out_codes.end);
    } else if (in_guard(&g_out_floats, a)) {
        r.status = QCP_STATUS_ACCESS_PAST_OUT;
        r.detail = (int64_t)(a - (uintptr_t)g_out_floats.end);
    } else if (in_guard(&g_in, a)) {
        r.status = QCP_STATUS_ACCESS_PAST_IN;
        r.detail = (int64_t)(a - (uintptr_t)g_in.end);
    } else {
        die_of(sig);
    }
    r.call_offset = g_call_offset;
    r.call_count = g_call_count;
    r.access = access_was_write(context);
    const uint8_t *p = (const uint8_t *)&r;
    size_t left = sizeof r;
    while (left > 0) {
        ssize_t k = send(g_socket, p, left, MSG_NOSIGNAL);
        if (k <= 0) break;
        p += k;
        left -= (size_t)k;
    }
    _exit(QCP_EXIT_AFTER_FAULT);
}

static void install_signal_handlers(void) {
    // The plugin may overflow its stack: the handler needs a stack of its own.
    static uint8_t alternate_stack[64 * 1024];
    stack_t ss = {.ss_sp = alternate_stack, .ss_size = sizeof alternate_stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    // Replace any crash reporter the host runtime installed (the Swift runtime's backtracer would
    // spend seconds symbolicating every crash we provoke while isolating a fault).
    const int fatal[] = {SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) signal(fatal[i], SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
}

// Our fault handler is what turns an access to a guard page into a report. A plugin that
// installs its own SIGSEGV handler (or ignores or blocks the signal) can make such an access
// "succeed" — unprotect the page and retry, or jump past the store — so after every call the
// worker checks that the handlers are still its own. Returns 0, or the signal whose handler
// was replaced.
static int replaced_handler(void) {
    const int ours[] = {SIGSEGV, SIGBUS};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        struct sigaction cur;
        if (sigaction(ours[i], NULL, &cur) != 0) return ours[i];
        if (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_fault) return ours[i];
    }
    return 0;
}

// Offset of the first non-zero byte of a buffer's guard area, or −1. The guard is PROT_NONE
// and zero-filled, so anything there was written by a plugin that made it accessible.
static int64_t guard_written(const guarded_buffer *b) {
    if (mprotect(b->end, b->guard, PROT_READ) != 0) return -1;
    int64_t found = -1;
    for (size_t i = 0; i < b->guard; i++) {
        if (b->end[i] != 0) {
            found = (int64_t)i;
            break;
        }
    }
    mprotect(b->end, b->guard, PROT_NONE);
    return found;
}

// Descriptors 0–2 must be open before any other is created: a file the worker or the plugin
// opens must never become stdin, stdout or stderr (a printf would then write into it). The
// parent's spawn sets them up already; this covers a worker started any other way.
// A keeper process in the worker's process group that kills the whole group (the worker and
// whatever the plugin started) as soon as the worker or quantcheck ends, however it ends.
// - quantcheck kills the group itself whenever it ends a worker, but when quantcheck dies first
//   (Ctrl-C, kill -9) nothing else would end what the plugin forked;
// - it replaces PR_SET_PDEATHSIG, which fires when the *thread* that spawned the worker ends,
//   not quantcheck: a worker started by a sweep thread that later exits was killed, and its
//   next request reported as a crash of the plugin.
// The keeper is started before the library is loaded (no plugin code in it), holds none of
// the worker's descriptors (not the socket, not the output pipe), and is a grandchild, not a
// child, of the worker: a plugin that reaps all its children (while (wait(NULL) > 0)) must not
// wait for it. It watches both processes through pidfds. Returns 0 when it runs, −1 when it
// cannot (no pidfds before Linux 5.3): the caller then falls back to PR_SET_PDEATHSIG.
// Only async-signal-safe calls after fork.
static int start_group_keeper(pid_t parent) {
    int worker_fd = qcp_pidfd_open(getpid());
    if (worker_fd < 0) return -1;
    int parent_fd = qcp_pidfd_open(parent);
    if (parent_fd < 0) {
        close(worker_fd);
        return -1;
    }
    pid_t middle = fork();
    if (middle == 0) {
        pid_t keeper = fork();
        if (keeper == 0) {
            int null = open("/dev/null", O_RDWR);
            for (int fd = 0; fd <= 2; fd++) dup2(null, fd);
            for (int fd = 3; fd < 4096; fd++)
                if (fd != worker_fd && fd != parent_fd) close(fd);
            struct pollfd p[2] = {{.fd = worker_fd, .events = POLLIN}, {.fd = parent_fd, .events = POLLIN}};
            while (poll(p, 2, -1) < 0 && errno == EINTR) {}
            kill(0, SIGKILL);  // the worker's group, this process included
            _exit(0);
        }
        _exit(keeper > 0 ? 0 : 1);
    }
    int status = -1;
    if (middle > 0)
        while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {}
    close(worker_fd);
    close(parent_fd);
    return middle > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void open_standard_descriptors(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int d = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (d >= 0 && d != fd) {
            dup2(d, fd);
            close(d);
        }
    }
}

// The worker cannot talk to quantcheck any more (the plugin closed or replaced descriptor 3).
// A distinct exit status, marked in shared memory too, so that the parent does not report it
// as the plugin calling exit().
static qcp_shared_header *g_header;
static _Noreturn void lost_connection(void) {
    if (g_header) g_header->lost_connection = 1;
    _exit(QCP_EXIT_LOST_CONNECTION);
}

static uint64_t splitmix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Fills out[0..n) with a value that depends on the call (deterministically), so an element the
// plugin forgot to write shows up as a mismatch instead of a stale result of an earlier call.
// Float outputs get an odd significand in [1, 2): never the value of an 8- or 16-bit code.
static void poison(uint8_t *out, size_t n, size_t stride, uint64_t h) {
    if (stride == 1) {
        memset(out, (int)(h & 0xFF), n);
    } else if (stride == 2) {
        uint16_t v = (uint16_t)h;
        for (size_t i = 0; i < n; i++) memcpy(out + 2 * i, &v, 2);
    } else {
        uint32_t v = 0x3F800001u | ((uint32_t)h & 0x007FFFFEu);
        for (size_t i = 0; i < n; i++) memcpy(out + 4 * i, &v, 4);
    }
}

static void respond(const qcp_response *r) {
    if (qcp_send_all(g_socket, r, sizeof *r) != 0) lost_connection();
}

static void respond_status(uint32_t status, int64_t detail) {
    qcp_response r;
    memset(&r, 0, sizeof r);
    r.magic = QCP_MAGIC_RESPONSE;
    r.status = status;
    r.detail = detail;
    respond(&r);
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

_Noreturn void qcp_worker_main(
    const char *library, const char *const symbols[QCP_ENTRY_COUNT], int code_bytes,
    uint64_t capacity, uint64_t chunk, long parent_pid) {
    // Die with quantcheck (a hung plugin never reads the end of file): through the keeper, or
    // the parent-death signal where there is none. Never dump core: isolating one crashing
    // input crashes the worker a dozen times on purpose.
    open_standard_descriptors();
    if (parent_pid <= 0 || start_group_keeper((pid_t)parent_pid) != 0) prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent's pidfd was taken after it started us: if this still is our parent, the pidfd
    // is of quantcheck, not of a process that reused its id.
    if (parent_pid > 0 && getppid() != (pid_t)parent_pid) _exit(1);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0);
    if ((code_bytes != 1 && code_bytes != 2) || capacity == 0 || chunk == 0) _exit(2);
    if (chunk > capacity) chunk = capacity;

    size_t shared_bytes = qcp_shared_total_bytes(capacity);
    uint8_t *shared = mmap(NULL, shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, 4, 0);
    if (shared == MAP_FAILED) _exit(3);
    qcp_shared_header *header = (qcp_shared_header *)shared;
    uint8_t *shared_in = shared + qcp_shared_header_bytes();
    uint8_t *shared_out = shared_in + qcp_shared_input_bytes(capacity);
    header->sequence = 0;
    header->lost_connection = 0;
    g_header = header;

    // Inputs are at most 8 bytes, outputs 1–2 (codes) or 4 (floats). The output buffers keep a
    // page in front of a full chunk for the canary bytes.
    if (guarded_buffer_make(&g_in, chunk * 8) != 0) _exit(3);
    if (guarded_buffer_make(&g_out_codes, page_size() + chunk * (size_t)code_bytes) != 0) _exit(3);
    if (guarded_buffer_make(&g_out_floats, page_size() + chunk * 4) != 0) _exit(3);
    install_signal_handlers();

    qcp_hello hello;
    memset(&hello, 0, sizeof hello);
    hello.magic = QCP_MAGIC_HELLO;
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    generic_entry entries[QCP_ENTRY_COUNT] = {0};
    const char *text = "";
    if (!handle) {
        hello.status = QCP_STATUS_LOAD_FAILED;
        const char *e = dlerror();
        text = e ? e : "dlopen failed";
    } else {
        for (int e = 0; e < QCP_ENTRY_COUNT; e++) {
            if (!symbols[e] || !symbols[e][0]) continue;
            void *f = dlsym(handle, symbols[e]);
            if (f) {
                memcpy(&entries[e], &f, sizeof f);
                hello.found_mask |= 1u << e;
            }
        }
        void *info = dlsym(handle, QUANTCHECK_PLUGIN_INFO_SYMBOL);
        if (info) {
            quantcheck_plugin_info_fn f;
            memcpy(&f, &info, sizeof f);
            const char *s = f();
            if (s) text = s;
        }
    }
    // Again: constructors and quantcheck_plugin_info may have installed handlers of their own.
    install_signal_handlers();
    hello.text_length = (uint32_t)strnlen(text, 1024);
    if (qcp_send_all(g_socket, &hello, sizeof hello) != 0) lost_connection();
    if (qcp_send_all(g_socket, text, hello.text_length) != 0) lost_connection();
    if (!handle) _exit(0);

    for (;;) {
        qcp_request rq;
        int got = qcp_receive_all(g_socket, &rq, sizeof rq, -1);
        if (got == 0) _exit(0);  // quantcheck closed its end: done
        if (got != 1) lost_connection();
        if (rq.magic != QCP_MAGIC_REQUEST) {
            respond_status(QCP_STATUS_BAD_REQUEST, 0);
            _exit(4);
        }
        if (rq.op == QCP_OP_QUIT) _exit(0);
        uint32_t entry = rq.op == QCP_OP_SWEEP_F32 ? (uint32_t)QCP_ENTRY_F32 : rq.entry;
        if ((rq.op != QCP_OP_SWEEP_F32 && rq.op != QCP_OP_CALL) || entry >= QCP_ENTRY_COUNT ||
            rq.count == 0 || rq.count > capacity ||
            (rq.op == QCP_OP_SWEEP_F32 && rq.start + rq.count > (1ull << 32))) {
            respond_status(QCP_STATUS_BAD_REQUEST, 0);
            continue;
        }
        generic_entry fn = entries[entry];
        if (!fn) {
            respond_status(QCP_STATUS_NO_SYMBOL, entry);
            continue;
        }
        size_t in_stride = entry == QCP_ENTRY_F32 ? 4 : entry == QCP_ENTRY_F64 ? 8
                         : entry == QCP_ENTRY_DECODE ? (size_t)code_bytes : 2;
        size_t out_stride = entry == QCP_ENTRY_DECODE ? 4 : (size_t)code_bytes;
        const guarded_buffer *ob = entry == QCP_ENTRY_DECODE ? &g_out_floats : &g_out_codes;
        uint64_t nanos = 0;
        for (uint64_t off = 0; off < rq.count;) {
            size_t n = (size_t)(rq.count - off < chunk ? rq.count - off : chunk);
            uint8_t *in = g_in.end - n * in_stride;
            uint8_t *out = ob->end - n * out_stride;
            if (rq.op == QCP_OP_SWEEP_F32) {
                uint32_t first = (uint32_t)(rq.start + off);
                for (size_t i = 0; i < n; i++) {
                    uint32_t bits = first + (uint32_t)i;
                    memcpy(in + 4 * i, &bits, 4);
                }
            } else {
                memcpy(in, shared_in + off * in_stride, n * in_stride);
            }
            uint64_t h = splitmix(rq.start + off);
            uint8_t canary = (uint8_t)(0xA5 ^ ((h >> 8) & 0x5A));
            size_t front = (size_t)(out - ob->start);
            memset(ob->start, canary, front);
            poison(out, n, out_stride, h);

            header->call_offset = off;
            header->call_count = n;
            __atomic_store_n(&header->sequence, header->sequence + 1, __ATOMIC_RELEASE);  // odd: in a call
            g_call_offset = off;
            g_call_count = n;
            g_in_call = 1;
            uint64_t t0 = now_ns();
            fn(in, out, n);
            nanos += now_ns() - t0;
            g_in_call = 0;

            // Still inside the call as far as the parent is concerned (odd sequence): a fault
            // found here is this call's. A SIGSEGV or SIGBUS the plugin blocked and raised is
            // pending: it is the crash it would have been.
            sigset_t pending;
            sigemptyset(&pending);
            sigpending(&pending);
            if (sigismember(&pending, SIGSEGV)) die_of(SIGSEGV);
            if (sigismember(&pending, SIGBUS)) die_of(SIGBUS);
            int replaced = replaced_handler();
            if (replaced) {
                // What the plugin's handler let through: bytes in a guard area are an
                // out-of-bounds write after all; otherwise the replacement is the fault.
                qcp_response r;
                memset(&r, 0, sizeof r);
                r.magic = QCP_MAGIC_RESPONSE;
                r.call_offset = off;
                r.call_count = n;
                r.access = 1;
                int64_t past_out = guard_written(ob), past_in = guard_written(&g_in);
                if (past_out >= 0) {
                    r.status = QCP_STATUS_ACCESS_PAST_OUT;
                    r.detail = past_out;
                } else if (past_in >= 0) {
                    r.status = QCP_STATUS_ACCESS_PAST_IN;
                    r.detail = past_in;
                } else {
                    r.status = QCP_STATUS_HANDLER_REPLACED;
                    r.detail = replaced;
                    r.access = -1;
                }
                respond(&r);
                _exit(QCP_EXIT_AFTER_FAULT);
            }
            __atomic_store_n(&header->sequence, header->sequence + 1, __ATOMIC_RELEASE);

            // Canary: the nearest changed byte before out[0].
            for (size_t k = 1; k <= front; k++) {
                if (out[-(ptrdiff_t)k] != canary) {
                    qcp_response r;
                    memset(&r, 0, sizeof r);
                    r.magic = QCP_MAGIC_RESPONSE;
                    r.status = QCP_STATUS_WROTE_BEFORE_OUT;
                    r.detail = (int64_t)k;
                    r.call_offset = off;
                    r.call_count = n;
                    r.access = 1;
                    respond(&r);
                    _exit(QCP_EXIT_AFTER_FAULT);
                }
            }
            memcpy(shared_out + off * out_stride, out, n * out_stride);
            off += n;
        }
        qcp_response r;
        memset(&r, 0, sizeof r);
        r.magic = QCP_MAGIC_RESPONSE;
        r.status = QCP_STATUS_OK;
        r.nanos = nanos;
        respond(&r);
    }
}
