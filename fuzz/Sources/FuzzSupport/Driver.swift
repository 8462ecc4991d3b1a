import CFuzzDriver

/// Runs libFuzzer (same command line as any libFuzzer binary) on `callback`. Each harness's
/// `<Target>_main` calls this: SwiftPM links an executable's `main` to that symbol.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                      _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var count = argc
    var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &vector, callback)
}
