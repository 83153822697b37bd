/* demo_data.c: generates the demo's data sets from templates and a seed. Sentiment: the last clause
 * decides the label and a negation in it flips the adjective's polarity ("not bad" is positive,
 * "good but boring" negative), so bag-of-words is not enough. Pairs: paraphrases (passive voice,
 * synonyms, moved adverbials) against near misses (swapped roles, negation, another verb, time or
 * person). Does not train, tokenize or read anything. */
#include "cli/demo_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "smartty/str.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const subjects[] = {
    "the movie", "this film", "the plot", "the acting", "the script", "the ending",
    "the soundtrack", "the cast", "the dialogue", "the story", "the pacing", "the camera work",
};
static const char *const pos_adj[] = {
    "good", "great", "wonderful", "brilliant", "charming", "delightful", "moving",
    "clever", "funny", "fresh", "beautiful", "thoughtful", "gripping", "solid",
};
static const char *const neg_adj[] = {
    "bad", "boring", "dull", "awful", "terrible", "clumsy", "predictable",
    "tedious", "bland", "weak", "disappointing", "pointless", "messy", "lifeless",
};
static const char *const intens[] = {"", "very ", "really ", "truly ", "quite ", "so "};
static const char *const negs[] = {"not ", "never ", "hardly ", "not at all "};

/* Words the vocabulary holds only as a stem and a ## piece, so WordPiece has pieces to use. */
static const char *const derived[][2] = {
    {"charming", "charm ##ing"}, {"disappointing", "disappoint ##ing"}, {"pointless", "point ##less"},
    {"thoughtful", "thought ##ful"}, {"lifeless", "life ##less"}, {"gripping", "grip ##ping"},
    {"commended", "commend ##ed"}, {"alerted", "alert ##ed"}, {"criticized", "critic ##ized"},
    {"phoned", "phone ##d"}, {"thanks", "thank ##s"},
};

typedef struct verb {
    const char *base, *past, *syn; /* syn: a past-tense paraphrase */
} verb;
static const verb verbs[] = {
    {"praise", "praised", "commended"}, {"help", "helped", "assisted"},
    {"call", "called", "phoned"},       {"visit", "visited", "went to see"},
    {"warn", "warned", "alerted"},      {"criticize", "criticized", "found fault with"},
    {"meet", "met", "met with"},        {"thank", "thanked", "expressed thanks to"},
};
static const char *const people[] = {
    "anna", "ben", "carla", "david", "the teacher", "the doctor",
    "the manager", "my neighbour", "the driver", "the new student",
};
static const char *const times[] = {"yesterday", "on monday", "last week", "this morning", "in the evening"};

void demo_default_sizes(demo_sizes *s)
{
    s->sentiment_train = 2000;
    s->sentiment_dev = 400;
    s->pairs_train = 2000;
    s->pairs_dev = 400;
}

/* ---- a set of 64-bit hashes, to keep sentences unique across splits ---- */
typedef struct hset {
    uint64_t *v;
    size_t cap, n;
} hset;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h | 1;
}

/* 1: inserted; 0: already there; -1: out of memory */
static int hset_add(hset *h, uint64_t k)
{
    if (2 * (h->n + 1) > h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1024;
        uint64_t *nv = calloc(nc, sizeof *nv);
        if (!nv)
            return -1;
        for (size_t i = 0; i < h->cap; i++)
            if (h->v[i])
                for (size_t j = h->v[i] % nc;; j = (j + 1) % nc)
                    if (!nv[j]) {
                        nv[j] = h->v[i];
                        break;
                    }
        free(h->v);
        h->v = nv;
        h->cap = nc;
    }
    for (size_t j = k % h->cap;; j = (j + 1) % h->cap) {
        if (h->v[j] == k)
            return 0;
        if (!h->v[j]) {
            h->v[j] = k;
            h->n++;
            return 1;
        }
    }
}

static const char *pick(sm_rng *r, const char *const *a, int n) { return a[sm_rng_below(r, (uint64_t)n)]; }

/* ---- sentiment ---- */

static const char *adj_of(sm_rng *r, int polarity)
{
    return polarity > 0 ? pick(r, pos_adj, N_OF(pos_adj)) : pick(r, neg_adj, N_OF(neg_adj));
}

/* One sentence with the given label (1 positive, 0 negative). */
static void sentiment_sentence(sm_rng *r, int label, char *out, size_t cap)
{
    int want = label ? 1 : -1;
    int form = (int)sm_rng_below(r, 8);
    int i1 = (int)sm_rng_below(r, N_OF(subjects)), i2;
    do
        i2 = (int)sm_rng_below(r, N_OF(subjects));
    while (i2 == i1);
    const char *s1 = subjects[i1], *s2 = subjects[i2];
    const char *in = pick(r, intens, N_OF(intens));
    /* the deciding clause: an adjective, negated or not */
    int negated = form == 1 || (form >= 2 && sm_rng_below(r, 3) == 0);
    const char *neg = negated ? pick(r, negs, N_OF(negs)) : "";
    const char *a2 = adj_of(r, negated ? -want : want);
    /* the other clause usually pulls the other way, so that the words alone mislead */
    int other = sm_rng_below(r, 4) ? -want : want;
    const char *a1 = adj_of(r, other);
    switch (form) {
    case 0: snprintf(out, cap, "%s is %s%s .", s1, in, a2); break;
    case 1: snprintf(out, cap, "%s is %s%s .", s1, neg, a2); break;
    case 2: snprintf(out, cap, "%s is %s%s but %s%s .", s1, in, a1, neg, a2); break;
    case 3: snprintf(out, cap, "%s is %s but %s is %s%s .", s1, a1, s2, neg, a2); break;
    case 4: snprintf(out, cap, "although %s is %s%s , it is %s%s .", s1, in, a1, neg, a2); break;
    case 5: /* "not X , it is Y": X is of the other polarity than Y's clause */
        snprintf(out, cap, "%s is not %s , it is %s%s%s .", s1, adj_of(r, negated ? want : -want),
                 neg, negated ? "" : in, a2);
        break;
    case 6: snprintf(out, cap, "i expected %s to be %s , but it was %s%s .", s1, a1, neg, a2); break;
    default: snprintf(out, cap, "%s is %s , and %s is %s%s .", s1, adj_of(r, want), s2, neg, a2); break;
    }
}

static int polarity_of(const char *w)
{
    for (int i = 0; i < N_OF(pos_adj); i++)
        if (!strcmp(w, pos_adj[i]))
            return 1;
    for (int i = 0; i < N_OF(neg_adj); i++)
        if (!strcmp(w, neg_adj[i]))
            return -1;
    return 0;
}

int demo_sentiment_rule(const char *sentence)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", sentence);
    /* the deciding clause starts after the last "but" or "," */
    char *words[128];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t && n < 128; t = strtok_r(NULL, " ", &save))
        words[n++] = t;
    int start = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(words[i], "but") || !strcmp(words[i], ","))
            start = i + 1;
    int flips = 0, pol = 0;
    for (int i = start; i < n; i++) {
        if (!strcmp(words[i], "not") || !strcmp(words[i], "never") || !strcmp(words[i], "hardly"))
            flips++;
        int p = polarity_of(words[i]);
        if (p) {
            if (pol)
                return -1; /* two sentiment words in one clause: not a generated form */
            pol = p;
        }
    }
    if (!pol)
        return -1;
    if (flips % 2)
        pol = -pol;
    return pol > 0;
}

/* ---- pairs ---- */

static void pair_example(sm_rng *r, int label, char *a, char *b, size_t cap)
{
    int vi = (int)sm_rng_below(r, N_OF(verbs));
    const verb *v = &verbs[vi];
    int xi = (int)sm_rng_below(r, N_OF(people)), yi;
    do
        yi = (int)sm_rng_below(r, N_OF(people));
    while (yi == xi);
    const char *x = people[xi], *y = people[yi];
    int ti = (int)sm_rng_below(r, N_OF(times));
    const char *t = times[ti];
    snprintf(a, cap, "%s %s %s %s .", x, v->past, y, t);
    if (label) {
        switch (sm_rng_below(r, 4)) {
        case 0: snprintf(b, cap, "%s was %s by %s %s .", y, v->past, x, t); break;
        case 1: snprintf(b, cap, "%s %s %s %s .", x, v->syn, y, t); break;
        case 2: snprintf(b, cap, "%s , %s %s %s .", t, x, v->past, y); break;
        default: snprintf(b, cap, "%s , %s %s %s .", t, x, v->syn, y); break;
        }
    } else {
        int k = (int)sm_rng_below(r, 6), oi, zi;
        switch (k) {
        case 0: snprintf(b, cap, "%s %s %s %s .", y, v->past, x, t); break;
        case 1: snprintf(b, cap, "%s was %s by %s %s .", x, v->past, y, t); break;
        case 2:
            do
                oi = (int)sm_rng_below(r, N_OF(verbs));
            while (oi == vi);
            snprintf(b, cap, "%s %s %s %s .", x, verbs[oi].past, y, t);
            break;
        case 3: snprintf(b, cap, "%s did not %s %s %s .", x, v->base, y, t); break;
        case 4:
            do
                oi = (int)sm_rng_below(r, N_OF(times));
            while (oi == ti);
            snprintf(b, cap, "%s %s %s %s .", x, v->syn, y, times[oi]);
            break;
        default:
            do
                zi = (int)sm_rng_below(r, N_OF(people));
            while (zi == xi || zi == yi);
            snprintf(b, cap, "%s was %s by %s %s .", people[zi], v->past, x, t);
            break;
        }
    }
    if (sm_rng_below(r, 2)) { /* either order */
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", a);
        snprintf(a, cap, "%s", b);
        snprintf(b, cap, "%s", tmp);
    }
}

/* ---- vocabulary ---- */

typedef struct wordlist {
    char (*w)[32];
    int n, cap;
} wordlist;

static int wl_add(wordlist *l, const char *w)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->w[i], w))
            return 0;
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 256;
        char(*nw)[32] = realloc(l->w, (size_t)nc * sizeof *nw);
        if (!nw)
            return -1;
        l->w = nw;
        l->cap = nc;
    }
    snprintf(l->w[l->n++], 32, "%s", w);
    return 0;
}

/* Add every word of phrase, replacing derived words by their stem and piece. */
static int wl_add_phrase(wordlist *l, const char *phrase)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", phrase);
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        const char *repl = NULL;
        for (int i = 0; i < N_OF(derived); i++)
            if (!strcmp(t, derived[i][0]))
                repl = derived[i][1];
        if (!repl) {
            if (wl_add(l, t))
                return -1;
            continue;
        }
        char r2[64];
        snprintf(r2, sizeof r2, "%s", repl);
        char *sp = strchr(r2, ' ');
        if (sp)
            *sp = 0;
        if (wl_add(l, r2) || (sp && wl_add(l, sp + 1)))
            return -1;
    }
    return 0;
}

static int cmp_word(const void *a, const void *b) { return strcmp(a, b); }

static sm_status vocab_text(sm_str *out, sm_error *e)
{
    wordlist l = {0};
    int bad = 0;
    const char *const extra[] = {"is", "but", "although", "it", "to", "be", "was", "i", "expected",
                                 "and", "at", "all", "by", "did", "not", "never", "hardly", ",", "."};
    for (int i = 0; i < N_OF(extra); i++)
        bad |= wl_add_phrase(&l, extra[i]);
    for (int i = 0; i < N_OF(subjects); i++)
        bad |= wl_add_phrase(&l, subjects[i]);
    for (int i = 0; i < N_OF(pos_adj); i++)
        bad |= wl_add_phrase(&l, pos_adj[i]) | wl_add_phrase(&l, neg_adj[i]);
    for (int i = 0; i < N_OF(intens); i++)
        bad |= wl_add_phrase(&l, intens[i]);
    for (int i = 0; i < N_OF(negs); i++)
        bad |= wl_add_phrase(&l, negs[i]);
    for (int i = 0; i < N_OF(verbs); i++)
        bad |= wl_add_phrase(&l, verbs[i].base) | wl_add_phrase(&l, verbs[i].past) |
               wl_add_phrase(&l, verbs[i].syn);
    for (int i = 0; i < N_OF(people); i++)
        bad |= wl_add_phrase(&l, people[i]);
    for (int i = 0; i < N_OF(times); i++)
        bad |= wl_add_phrase(&l, times[i]);
    if (bad) {
        free(l.w);
        return sm_err(e, SM_ERR_NOMEM, "gen-demo: out of memory building the vocabulary");
    }
    /* whole words, then pieces, each sorted; punctuation, letters and ## letters as a fallback */
    qsort(l.w, (size_t)l.n, sizeof l.w[0], cmp_word);
    sm_str_appendf(out, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    const char *punct = "!\"'(),-.:;?";
    for (const char *p = punct; *p; p++)
        sm_str_appendf(out, "%c\n", *p);
    for (char ch = '0'; ch <= '9'; ch++)
        sm_str_appendf(out, "%c\n", ch);
    for (char ch = 'a'; ch <= 'z'; ch++)
        sm_str_appendf(out, "%c\n", ch);
    for (int i = 0; i < l.n; i++)
        if (strncmp(l.w[i], "##", 2) && (strlen(l.w[i]) > 1 || !strchr(punct, l.w[i][0])) &&
            !(strlen(l.w[i]) == 1 && l.w[i][0] >= 'a' && l.w[i][0] <= 'z'))
            sm_str_appendf(out, "%s\n", l.w[i]);
    for (int i = 0; i < l.n; i++)
        if (!strncmp(l.w[i], "##", 2))
            sm_str_appendf(out, "%s\n", l.w[i]);
    for (char ch = 'a'; ch <= 'z'; ch++)
        sm_str_appendf(out, "##%c\n", ch);
    free(l.w);
    return out->failed ? sm_err(e, SM_ERR_NOMEM, "gen-demo: out of memory") : SM_OK;
}

/* ---- files ---- */

static sm_status make_dir(const char *path, sm_error *e)
{
    if (mkdir(path, 0777) && errno != EEXIST)
        return sm_err(e, SM_ERR_IO, "gen-demo: cannot create folder %s: %s", path, strerror(errno));
    return SM_OK;
}

static sm_status write_buf(const char *dir, const char *name, sm_str *b, sm_error *e)
{
    char path[4096];
    if (!sm_path_join(path, sizeof path, dir, name))
        return sm_err(e, SM_ERR_INVALID, "gen-demo: path too long under %s", dir);
    if (b->failed)
        return sm_err(e, SM_ERR_NOMEM, "gen-demo: out of memory writing %s", path);
    return sm_write_file_atomic(path, b->p ? b->p : "", b->len, e);
}

/* One split: n rows with random labels, none already in seen. */
static sm_status gen_split(sm_rng *r, int task, int n, hset *seen, sm_str *out, sm_error *e)
{
    sm_str_appendf(out, task == 0 ? "sentence\tlabel\n" : "sentence1\tsentence2\tlabel\n");
    char a[512], b[512], key[1100];
    for (int i = 0; i < n; i++) {
        int label = (int)sm_rng_below(r, 2);
        for (int tries = 0;; tries++) {
            if (tries > 10000)
                return sm_err(e, SM_ERR_INVALID, "gen-demo: cannot find %d distinct examples", n);
            if (task == 0) {
                sentiment_sentence(r, label, a, sizeof a);
                snprintf(key, sizeof key, "%s", a);
            } else {
                pair_example(r, label, a, b, sizeof a);
                snprintf(key, sizeof key, "%s\t%s", a, b);
            }
            int k = hset_add(seen, fnv(key));
            if (k < 0)
                return sm_err(e, SM_ERR_NOMEM, "gen-demo: out of memory");
            if (k)
                break;
        }
        if (task == 0)
            sm_str_appendf(out, "%s\t%d\n", a, label);
        else
            sm_str_appendf(out, "%s\t%s\t%d\n", a, b, label);
    }
    return SM_OK;
}

sm_status demo_generate(const char *dir, uint64_t seed, const demo_sizes *sizes, sm_error *e)
{
    demo_sizes dflt;
    if (!sizes) {
        demo_default_sizes(&dflt);
        sizes = &dflt;
    }
    char sub[4096];
    sm_status st = make_dir(dir, e);
    static const char *const task_dir[2] = {"sentiment", "pairs"};
    for (int task = 0; task < 2 && !st; task++) {
        if (!sm_path_join(sub, sizeof sub, dir, task_dir[task]))
            return sm_err(e, SM_ERR_INVALID, "gen-demo: path too long under %s", dir);
        if ((st = make_dir(sub, e)))
            break;
        sm_rng base, r;
        sm_rng_seed(&base, seed);
        hset seen = {0};
        int nt = task == 0 ? sizes->sentiment_train : sizes->pairs_train;
        int nd = task == 0 ? sizes->sentiment_dev : sizes->pairs_dev;
        sm_str tr = SM_STR_INIT, dv = SM_STR_INIT;
        sm_rng_derive(&r, &base, 2u * (uint64_t)task + 1u);
        st = gen_split(&r, task, nt, &seen, &tr, e);
        sm_rng_derive(&r, &base, 2u * (uint64_t)task + 2u);
        if (!st)
            st = gen_split(&r, task, nd, &seen, &dv, e);
        if (!st)
            st = write_buf(sub, "train.tsv", &tr, e);
        if (!st)
            st = write_buf(sub, "dev.tsv", &dv, e);
        free(tr.p);
        free(dv.p);
        free(seen.v);
    }
    if (!st) {
        sm_str v = SM_STR_INIT;
        st = vocab_text(&v, e);
        if (!st)
            st = write_buf(dir, "vocab.txt", &v, e);
        free(v.p);
    }
    return st;
}
