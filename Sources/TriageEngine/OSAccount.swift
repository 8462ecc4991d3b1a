#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The OS account a process acts as, for the audit trail of decisions made on the command line.
///
/// Read from the effective uid through the password database, not from `$USER` or `$LOGNAME`:
/// those are set by whoever starts the process, so an audit built on them could be forged by
/// one `env USER=alice`. The effective uid is what the kernel checks file access against.
public enum OSAccount {
    /// The account name of the effective uid, or the uid as decimal text when the password
    /// database has no entry for it (a container started with `--user 12345`).
    public static func effective() -> String { name(uid: geteuid()) }

    /// The account name of `uid`, or `uid` as decimal text when it has none.
    public static func name(uid: uid_t) -> String {
        // getpwuid_r, not getpwuid: the latter returns a static buffer shared by every thread.
        // 16 KiB covers any real entry; ERANGE doubles it a few times before giving up.
        var size = 16_384
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            // The name points into `buffer`: copied out before the buffer goes.
            let (status, name) = buffer.withUnsafeMutableBufferPointer { bytes -> (Int32, String?) in
                guard let base = bytes.baseAddress else { return (EINVAL, nil) }
                var entry = passwd()
                var found: UnsafeMutablePointer<passwd>?
                let status = getpwuid_r(uid, &entry, base, bytes.count, &found)
                guard status == 0, found != nil, let name = entry.pw_name else { return (status, nil) }
                return (status, String(cString: name))
            }
            if status == ERANGE {
                size *= 2
                continue
            }
            if let name, !name.isEmpty { return name }
            break
        }
        return String(uid)
    }
}
