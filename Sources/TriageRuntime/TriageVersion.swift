/// The Triage release: `triage --version` prints it and every bundle's manifest records it.
public enum TriageVersion {
    public static let string = "0.1.0"
}
