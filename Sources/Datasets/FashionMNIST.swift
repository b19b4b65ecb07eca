// FashionMNIST: the Zalando Fashion-MNIST set (Xiao, Rasul and Vollgraf, 2017,
// arXiv:1708.07747): 60,000 training and 10,000 test images of 28×28 grey
// pixels in 10 clothing classes, stored as four IDX files.
//
// Debian's dataset-fashion-mnist package installs the gzip files in
// /usr/share/datasets/fashion-mnist. Pixels are scaled to [0, 1] as x / 255.

/// Loads Fashion-MNIST from its four IDX files.
public enum FashionMNIST {
    /// Where Debian's dataset-fashion-mnist package installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// Number of clothing classes (T-shirt/top, trouser, ..., ankle boot).
    public static let classCount = 10
    /// The class names, in label order (Xiao, Rasul & Vollgraf, 2017).
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Reads the training and test sets from `directory`.
    ///
    /// Each file may be plain (`train-images-idx3-ubyte`) or gzip (`...-ubyte.gz`);
    /// when both exist the plain one is read, because it needs no inflating.
    public static func load(directory: String = defaultDirectory) throws(DatasetError) -> (train: Dataset, test: Dataset) {
        let train = try loadSplit(directory: directory, prefix: "train", name: "fashion-mnist/train")
        let test = try loadSplit(directory: directory, prefix: "t10k", name: "fashion-mnist/test")
        return (train, test)
    }

    /// One split: `<prefix>-images-idx3-ubyte` with `<prefix>-labels-idx1-ubyte`.
    private static func loadSplit(directory: String, prefix: String, name: String) throws(DatasetError) -> Dataset {
        try IDXDataset.load(
            imagesPath: path(in: directory, file: "\(prefix)-images-idx3-ubyte"),
            labelsPath: path(in: directory, file: "\(prefix)-labels-idx1-ubyte"),
            featureDivisor: 255,
            classCount: classCount,
            name: name,
            missing: { .missingFashionMNIST(path: $0) })
    }

    /// The plain file if it exists, else the `.gz` one (whose absence the reader then reports).
    private static func path(in directory: String, file: String) -> String {
        let plain = directory.hasSuffix("/") ? directory + file : directory + "/" + file
        return FileBytes.exists(plain) ? plain : plain + ".gz"
    }
}
