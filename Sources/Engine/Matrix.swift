// Matrix: a row-major view over Float storage (an arena slice, a workspace).
// A view owns nothing; the FloatBuffer it points into must outlive it.

/// A rows × columns row-major view whose consecutive rows are `rowStride` floats apart.
public struct Matrix {
    /// First element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// Distance between the starts of consecutive rows, in floats (≥ columns).
    public let rowStride: Int

    /// A dense view: rows follow each other without gaps.
    public init(_ pointer: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
        precondition(rows >= 0 && columns >= 0, "Matrix shape (\(rows), \(columns)) must be non-negative")
        self.pointer = pointer
        self.rows = rows
        self.columns = columns
        self.rowStride = rowStride ?? columns
        precondition(self.rowStride >= columns, "Matrix row stride \(self.rowStride) < columns \(columns)")
    }

    /// A dense view of `rows × columns` floats of `buffer` starting at `offset`.
    public init(_ buffer: FloatBuffer, offset: Int = 0, rows: Int, columns: Int) {
        precondition(offset >= 0 && offset + rows * columns <= buffer.count,
                     "Matrix (\(rows), \(columns)) at offset \(offset) exceeds buffer of \(buffer.count)")
        self.init(buffer.pointer + offset, rows: rows, columns: columns)
    }

    /// The first `count` rows.
    public func topRows(_ count: Int) -> Matrix {
        precondition(count <= rows, "topRows(\(count)) of a \(rows)-row matrix")
        return Matrix(pointer, rows: count, columns: columns, rowStride: rowStride)
    }

    /// Element (row, column); for tests and bookkeeping.
    public subscript(row: Int, column: Int) -> Float {
        get { pointer[row * rowStride + column] }
        nonmutating set { pointer[row * rowStride + column] = newValue }
    }
}
