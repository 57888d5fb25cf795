/*
 * replay: run a fuzz target over saved inputs, without libFuzzer.
 *
 *   fuzz_replay_<target> PATH...
 *
 * Each PATH is a file or a directory (its regular files, not recursive, in
 * name order). Every input is passed once to LLVMFuzzerTestOneInput; a bug
 * aborts (PP_FUZZ_CHECK) or trips a sanitizer, which fails the ctest test.
 * Exit status: 0 when all inputs ran, 1 when a path could not be read or no
 * input was found (an empty corpus is a configuration error, not a pass).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (1024 * 1024) /* larger files are not corpus entries */

/* Read a whole file into *ret_buf (malloc'ed, owned by the caller). 0 or -errno. */
static int read_file(const char *path, uint8_t **ret_buf, size_t *ret_len)
{
    int rc = 0;
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    buf = malloc(INPUT_MAX);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out_close;
    }
    size_t len = fread(buf, 1, INPUT_MAX, f);
    if (ferror(f)) {
        rc = -EIO;
        goto out_free;
    }
    if (!feof(f)) {
        rc = -EFBIG;
        goto out_free;
    }
    *ret_buf = buf;
    *ret_len = len;
    buf = NULL; /* now owned by the caller */
out_free:
    free(buf);
out_close:
    fclose(f);
    return rc;
}

/* Run one file. Returns 0 or -errno. */
static int run_file(const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);
    if (rc != 0) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(-rc));
        return rc;
    }
    /* An exact-size copy, so ASan sees reads past the end of the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return -ENOMEM;
    }
    if (len)
        memcpy(exact, buf, len);
    free(buf);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of a directory, in name order. Adds to *count. */
static int run_dir(const char *dir, unsigned *count)
{
    int rc = 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        rc = -errno;
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(-rc));
        return rc;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (grown == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            names = grown;
        }
        size_t plen = strlen(dir) + 1 + strlen(de->d_name) + 1;
        names[n] = malloc(plen);
        if (names[n] == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        snprintf(names[n], plen, "%s/%s", dir, de->d_name);
        n++;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct stat sb;
        if (stat(names[i], &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        rc = run_file(names[i]);
        if (rc == 0)
            (*count)++;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        int rc;
        if (S_ISDIR(sb.st_mode)) {
            rc = run_dir(argv[i], &count);
        } else {
            rc = run_file(argv[i]);
            if (rc == 0)
                count++;
        }
        if (rc != 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    printf("replay: %u inputs ran without a finding\n", count);
    return 0;
}
