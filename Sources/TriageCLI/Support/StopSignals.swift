#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM; a watch run asks it between rows and while waiting.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0
var watchStopRequested: Bool { stopRequested != 0 }

func installStopHandlers() {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in stopRequested = 1 }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0 // no SA_RESTART: a sleep ends at once when a signal arrives
    sigaction(SIGINT, &action, nil)
    sigaction(SIGTERM, &action, nil)
    // A parent may have spawned us with these blocked (Foundation's Process does): unblock them,
    // or a stop request would stay pending forever.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}
