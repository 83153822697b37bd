/* snapshot_spill.c: the snapshots' memory budget: beyond snapshot_budget the oldest snapshot's arrays
 * (weights, moments, teacher) go to a file in the state folder and come back on demand, exactly.
 * A spill file is written beside its name and renamed into place after fsync; it holds a header,
 * the arrays, their length and a checksum, and is read back only when all of them agree. A failed
 * spill (a full disk) keeps the snapshot in memory and says so; nothing is ever dropped. */
#include "lib/session/session_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartty/str.h"

#define SPILL_MAGIC "SMTYSNP1"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* 8 bytes at a time: the arrays are large (the bytes themselves are what is checked) */
static uint64_t fnv_floats(uint64_t h, const float *p, size_t n)
{
    size_t words = n / 2;
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, b + 8 * i, 8);
        h ^= w;
        h *= 1099511628211ULL;
    }
    return fnv(h, b + 8 * words, n * sizeof(float) - 8 * words);
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static uint64_t file_size(const snapshot *sn)
{
    return 8 + 8 + 8 * sn->cap.n_tensors + sn->bytes + 16;
}

sm_status ses_spill_out(sm_session *s, snapshot *sn, sm_error *e)
{
    if (sn->spill)
        return SM_OK;
    if (!s->spill_dir[0])
        return sm_err(e, SM_ERR_STATE, "snapshot %s: beyond snapshot_budget, and no folder to spill to", sn->name);
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/snapshot-%ld-%llu.bin", s->spill_dir, (long)getpid(),
             (unsigned long long)sn->seq);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return sm_err(e, SM_ERR_IO, "snapshot %s: cannot spill to %s: %s; it stays in memory", sn->name, tmp,
                      strerror(errno));
    uint64_t h = 14695981039346656037ULL, nt = sn->cap.n_tensors, len = file_size(sn);
    int bad = write_all(fd, SPILL_MAGIC, 8) || write_all(fd, &nt, 8);
    h = fnv(h, SPILL_MAGIC, 8);
    h = fnv(h, &nt, 8);
    for (size_t i = 0; i < nt && !bad; i++) {
        uint64_t n = sn->cap.tensors[i].n;
        bad = write_all(fd, &n, 8);
        h = fnv(h, &n, 8);
    }
    for (size_t i = 0; i < nt && !bad; i++) {
        const sm_state_tensor *t = &sn->cap.tensors[i];
        bad = write_all(fd, t->data, t->n * sizeof(float));
        h = fnv_floats(h, t->data, t->n);
    }
    if (!bad)
        bad = write_all(fd, &len, 8) || write_all(fd, &h, 8) || fsync(fd) != 0;
    int err = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        unlink(tmp);
        return sm_err(e, SM_ERR_IO, "snapshot %s: spilling to %s failed: %s; it stays in memory", sn->name,
                      s->spill_dir, strerror(err));
    }
    int dfd = open(s->spill_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    if (!(sn->spill = sm_strdup(path))) {
        unlink(path);
        return sm_err(e, SM_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < nt; i++) {
        sm_free_aligned(sn->cap.tensors[i].data);
        sn->cap.tensors[i].data = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    return SM_OK;
}

sm_status ses_spill_in(snapshot *sn, sm_error *e)
{
    if (!sn->spill)
        return SM_OK;
    int fd = open(sn->spill, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sm_err(e, SM_ERR_IO, "snapshot %s: cannot read its spill file %s: %s", sn->name, sn->spill,
                      strerror(errno));
    struct stat sb;
    size_t nt = sn->cap.n_tensors;
    float **data = calloc(nt ? nt : 1, sizeof *data);
    const char *why = NULL;
    uint64_t h = 14695981039346656037ULL, hdr[2], got[2];
    if (!data)
        why = "out of memory";
    else if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != file_size(sn))
        why = "its length is wrong (an interrupted or damaged spill)";
    else if (read_all(fd, hdr, 16) || memcmp(hdr, SPILL_MAGIC, 8) || hdr[1] != nt)
        why = "its header is wrong";
    h = fnv(h, hdr, 16);
    for (size_t i = 0; i < nt && !why; i++) {
        uint64_t n;
        if (read_all(fd, &n, 8) || n != sn->cap.tensors[i].n)
            why = "its array sizes are wrong";
        h = fnv(h, &n, 8);
    }
    for (size_t i = 0; i < nt && !why; i++) {
        size_t n = sn->cap.tensors[i].n;
        if (!(data[i] = sm_alloc_floats(n ? n : 1, e, sn->cap.tensors[i].name)))
            why = "out of memory";
        else if (read_all(fd, data[i], n * sizeof(float)))
            why = "it is short";
        else
            h = fnv_floats(h, data[i], n);
    }
    if (!why && (read_all(fd, got, 16) || got[0] != file_size(sn) || got[1] != h))
        why = "its checksum does not match (damaged)";
    close(fd);
    if (why) {
        for (size_t i = 0; data && i < nt; i++)
            sm_free_aligned(data[i]);
        free(data);
        return sm_err(e, SM_ERR_FORMAT, "snapshot %s: its spill file %s cannot be used: %s", sn->name, sn->spill,
                      why);
    }
    for (size_t i = 0; i < nt; i++)
        sn->cap.tensors[i].data = data[i];
    free(data);
    unlink(sn->spill);
    free(sn->spill);
    sn->spill = NULL;
    return SM_OK;
}

void ses_spill_drop(snapshot *sn)
{
    if (!sn->spill)
        return;
    unlink(sn->spill);
    free(sn->spill);
    sn->spill = NULL;
}

/* Every snapshot the budget counts: the named ones and the branches' latest states. */
static size_t all_snaps(sm_session *s, snapshot **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_snaps && n < cap; i++)
        out[n++] = &s->snaps[i];
    for (size_t i = 0; i < s->n_branches && n < cap; i++)
        if (s->branches[i].has_tip)
            out[n++] = &s->branches[i].tip;
    return n;
}

sm_status ses_spill_enforce(sm_session *s, sm_error *e)
{
    if (!s->snap_budget)
        return SM_OK;
    snapshot *all[SNAP_MAX + BRANCH_MAX];
    for (;;) {
        size_t n = all_snaps(s, all, sizeof all / sizeof all[0]), total = 0;
        snapshot *oldest = NULL;
        for (size_t i = 0; i < n; i++)
            if (!all[i]->spill) {
                total += all[i]->bytes;
                if (!oldest || all[i]->seq < oldest->seq)
                    oldest = all[i];
            }
        if (total <= s->snap_budget || !oldest)
            return SM_OK;
        sm_status st = ses_spill_out(s, oldest, e);
        if (st != SM_OK)
            return st;
    }
}

/* Remove the spill files (finished or not) of smartty processes that are gone: a process killed
 * with -9 leaves its snapshot-PID-N.bin[.tmp] behind, and nothing else would ever read them. Only
 * regular files of exactly that name whose PID is not alive go; another live run's stay. */
static void remove_dead_spills(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        long pid;
        unsigned long long seq;
        int end = 0;
        if (sscanf(de->d_name, "snapshot-%ld-%llu.bin%n", &pid, &seq, &end) != 2 || end == 0 ||
            (de->d_name[end] && strcmp(de->d_name + end, ".tmp")) || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or not ours to ask about: keep */
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
            (void)unlinkat(dfd, de->d_name, 0);
    }
    closedir(d);
}

void sm_session_set_snapshot_budget(sm_session *s, size_t budget, const char *dir)
{
    s->snap_budget = budget;
    snprintf(s->spill_dir, sizeof s->spill_dir, "%s", dir ? dir : "");
    if (s->spill_dir[0])
        remove_dead_spills(s->spill_dir);
}

size_t sm_session_snapshots(sm_session *s, sm_snapshot_info **out)
{
    pthread_mutex_lock(&s->mu);
    snapshot *all[SNAP_MAX + BRANCH_MAX];
    size_t n = all_snaps(s, all, sizeof all / sizeof all[0]);
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        sm_snapshot_info *o = &(*out)[i];
        snprintf(o->name, sizeof o->name, "%s%.56s", i < s->n_snaps ? "" : "branch ", all[i]->name);
        o->step = all[i]->step;
        o->bytes = all[i]->bytes;
        o->spilled = all[i]->spill != NULL;
        snprintf(o->path, sizeof o->path, "%s", all[i]->spill ? all[i]->spill : "");
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}
