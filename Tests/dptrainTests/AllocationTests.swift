// No heap allocation inside a training step: a second epoch of the same
// run may allocate only for its reporting, far fewer times than it has steps.
// A malloc counter is preloaded into the release binary (compiled here with
// the toolchain's clang).

import Foundation
import Testing

@Suite(.serialized) struct AllocationTests {
    static let counter = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdio.h>
        #include <stdatomic.h>
        static atomic_long count;
        static void *(*real_malloc)(unsigned long);
        void *malloc(unsigned long n) {
            if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
            atomic_fetch_add(&count, 1);
            return real_malloc(n);
        }
        __attribute__((destructor)) static void report(void) {
            fprintf(stderr, "mallocs %ld\\n", (long)atomic_load(&count));
        }
        """

    /// Mallocs of a run of `epochs` epochs of 80 steps on `threads` threads.
    static func mallocs(epochs: Int, threads: Int, extra: [String], library: URL) throws -> Int {
        let result = try Binary.runCommand(
            ["LD_PRELOAD=\(library.path)", Binary.release.path, "train", "--train-limit", "10240", "--test-limit", "100",
             "--batch-size", "128", "--epochs", "\(epochs)", "--threads", "\(threads)", "--no-gemm-limit"] + extra,
            timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stderr.split(separator: "\n").last { $0.hasPrefix("mallocs ") })
        return try #require(Int(line.dropFirst("mallocs ".count)))
    }

    @Test(arguments: [
        [String](), ["--model", "784-64:relu:bn-32:prelu:dropout(0.2)-10:softmax", "--clip-norm", "1",
                     "--weight-decay", "1e-4", "--optimizer", "sgd", "--momentum", "0.9"],
    ])
    func aSecondEpochAllocatesFewerTimesThanItHasSteps(extra: [String]) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("counter.c")
        try Data(Self.counter.utf8).write(to: source)
        let library = directory.appendingPathComponent("counter.so")
        let compiled = try Binary.runCommand(
            ["clang", "-O2", "-shared", "-fPIC", source.path, "-o", library.path, "-ldl"], timeout: 120)
        try #require(compiled.status == 0, "\(compiled.stderr)")
        for threads in [1, 2] {
            let one = try Self.mallocs(epochs: 1, threads: threads, extra: extra, library: library)
            let two = try Self.mallocs(epochs: 2, threads: threads, extra: extra, library: library)
            // 80 steps in the second epoch; its reporting allocates a few dozen times.
            #expect(two - one < 80, "\(threads) threads: \(two - one) mallocs in an epoch of 80 steps")
        }
    }
}
