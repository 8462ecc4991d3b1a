/// The `kind` written in a model file's header (`ModelFile`) for each estimator the runtime
/// saves or opens. A file's kind decides how it is read back, so these texts are part of the
/// file format: changing one makes existing model files and bundles unreadable.
public enum ModelKind {
    public static let isolationForest = "iforest"
    public static let autoencoder = "autoencoder"
    public static let decisionTree = "tree"
    public static let randomForest = "forest"
    public static let remediationPolicy = "remediation-policy"
}
