/*
 * rawcopy: the physical limit for the Veil benchmark. Copies every file named in LIST (one path a line) into OUTDIR
 * (same base name): open, read the whole file into a buffer (files over 4 MB: a loop over 4 MB chunks), write it
 * out, close. No fsync, like the Node modes. The buffer is page-aligned.
 *
 * Usage: rawcopy LIST OUTDIR [TIMED_PASSES]
 * Runs one untimed warm-up pass and TIMED_PASSES (default 1) timed passes, pass N into OUTDIR/pN, and truncates the
 * outputs after each (not timed): their data is freed but their inodes live on until the caller deletes OUTDIR (see
 * bench/core.bench.ts for why outputs are not deleted between passes). Prints one JSON line: {"ms":[...],"cpuMs":[...],"files":N,"bytes":B,"maxRSSKiB":K}, where cpuMs is the
 * user + system CPU time of each timed pass.
 *
 * Build: cc -O2 -o bench/out/rawcopy bench/rawcopy.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (4u * 1024u * 1024u)

static void die(const char *what, const char *path) {
  fprintf(stderr, "rawcopy: %s %s: ", what, path);
  perror(NULL);
  exit(1);
}

static void write_all(int fd, const char *buf, size_t n, const char *path) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) die("write", path);
    buf += w;
    n -= (size_t)w;
  }
}

/* Reads up to n bytes (fewer only at end of file). */
static size_t read_full(int fd, char *buf, size_t n, const char *path) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0) die("read", path);
    if (r == 0) break;
    got += (size_t)r;
  }
  return got;
}

static double cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rawcopy LIST OUTDIR [TIMED_PASSES]\n");
    return 2;
  }
  int timed = argc > 3 ? atoi(argv[3]) : 1;
  FILE *list = fopen(argv[1], "r");
  if (!list) die("open", argv[1]);
  size_t cap = 1024, count = 0;
  char **in = malloc(cap * sizeof *in), **out = malloc(cap * sizeof *out);
  char line[4096];
  while (fgets(line, sizeof line, list)) {
    size_t len = strcspn(line, "\r\n");
    line[len] = 0;
    if (len == 0) continue;
    if (count == cap) {
      cap *= 2;
      in = realloc(in, cap * sizeof *in);
      out = realloc(out, cap * sizeof *out);
    }
    const char *base = strrchr(line, '/');
    in[count] = strdup(line);
    out[count] = strdup(base ? base + 1 : line);
    count++;
  }
  fclose(list);

  /* Page-aligned, like cp's buffer: a 4 MB malloc is an mmap 16 bytes past a page boundary, and copying page-cache
   * pages into a buffer at that offset hits 4K aliasing (half the copy rate on the benchmark machine). */
  char *buf = NULL;
  if (posix_memalign((void **)&buf, 4096, CHUNK) != 0) die("alloc", "buffer");
  double ms[64], cpu[64];
  if (timed > 64) timed = 64;
  unsigned long long bytes = 0;
  char **dst = malloc(count * sizeof *dst);
  for (int pass = 0; pass <= timed; pass++) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/p%d", argv[2], pass);
    if (mkdir(dir, 0755) != 0) die("mkdir", dir);
    for (size_t i = 0; i < count; i++)
      if (asprintf(&dst[i], "%s/%s", dir, out[i]) < 0) die("alloc", out[i]);
    bytes = 0;
    double t0 = now_ms(), c0 = cpu_ms();
    for (size_t i = 0; i < count; i++) {
      int fi = open(in[i], O_RDONLY);
      if (fi < 0) die("open", in[i]);
      int fo = open(dst[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fo < 0) die("create", dst[i]);
      for (;;) {
        size_t n = read_full(fi, buf, CHUNK, in[i]);
        if (n == 0) break;
        write_all(fo, buf, n, dst[i]);
        bytes += n;
        if (n < CHUNK) break;
      }
      close(fo);
      close(fi);
    }
    double t1 = now_ms(), c1 = cpu_ms();
    if (pass > 0) {
      ms[pass - 1] = t1 - t0;
      cpu[pass - 1] = c1 - c0;
    }
    for (size_t i = 0; i < count; i++) {
      if (truncate(dst[i], 0) != 0) die("truncate", dst[i]);
      free(dst[i]);
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"ms\":[");
  for (int i = 0; i < timed; i++) printf("%s%.3f", i ? "," : "", ms[i]);
  printf("],\"cpuMs\":[");
  for (int i = 0; i < timed; i++) printf("%s%.3f", i ? "," : "", cpu[i]);
  printf("],\"files\":%zu,\"bytes\":%llu,\"maxRSSKiB\":%ld}\n", count, bytes, ru.ru_maxrss);
  return 0;
}
