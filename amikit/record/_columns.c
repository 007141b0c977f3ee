/* amikit.record._columns: AMI text to the recording layout's columns in one pass.
 *
 * The native twin of the vectorised converter (amikit/record/_vector.py, whose docstring
 * holds the rules): the same frames, the same rows, the same fallback decisions; tests
 * compare the two on every capture in tests/data. One call walks a buffer of whole
 * frames once -- frames at the terminator, lines, the first colon, the value's leading
 * blanks, the key's column -- and hands the columns to polars as one Arrow struct array
 * through the Arrow C data interface (the PyCapsule protocol), so no pyarrow is needed and
 * polars takes the buffers without a copy. The walk runs without the GIL.
 *
 * split(data, cut, lf, max_frame_size, names, dictionary=False) -> None or
 *     (schema_capsule, array_capsule, rows, errors, fallback, sizes)
 *
 * data: a bytes-like buffer starting at a frame; cut: the bytes used (data[:cut] ends
 * with the terminator); names: the key of each column code, starting with Event, ActionID,
 * Timestamp and Action, then the wide columns in layout order. ``fallback`` lists
 * (frame, start, end) for frames the codec must do (their text is data[start:end]).
 * None: the buffer is too large for 32-bit view offsets (the caller uses the polars path).
 *
 * Output columns (a struct array): frame (u32), kind, event, timestamp (us UTC),
 * action_id, the wide columns, extra (list of {key, value}), _end (i64). Strings are
 * Arrow string views; values longer than 12 bytes are copied into one compact buffer.
 * With ``dictionary`` (convert), action_id and the wide columns are uint32 codes into
 * per-column dictionaries instead, and a last column, _dict, holds in its row 0 every
 * dictionary one after another (their sizes are returned): see Dict below.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- Arrow C data interface (layout fixed by the Arrow specification) ---------------- */

#define ARROW_FLAG_NULLABLE 2

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

/* A pool owns every allocation behind one exported tree; each node (array or schema)
 * holds one reference, so a consumer may move children out and release them in any
 * order, on any thread. */
typedef struct {
    long refs;
    size_t n, cap;
    void **ptrs;
    struct {
        void *ptr;
        size_t size;
    } maps[8]; /* mmap'd buffers (the columns, the string heap, the extra views) */
    int n_maps;
} Pool;

static Pool *pool_new(void) { return (Pool *)calloc(1, sizeof(Pool)); }

static int pool_adopt(Pool *p, void *ptr) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        void **grown = (void **)realloc(p->ptrs, cap * sizeof(void *));
        if (grown == NULL) return -1;
        p->ptrs = grown;
        p->cap = cap;
    }
    p->ptrs[p->n++] = ptr;
    return 0;
}

static int pool_reserve(Pool *p, size_t cap) {
    if (cap <= p->cap) return 0;
    void **grown = (void **)realloc(p->ptrs, cap * sizeof(void *));
    if (grown == NULL) return -1;
    p->ptrs = grown;
    p->cap = cap;
    return 0;
}

static void *pool_alloc(Pool *p, size_t size) {
    void *ptr = calloc(1, size ? size : 1);
    if (ptr == NULL) return NULL;
    if (pool_adopt(p, ptr) < 0) {
        free(ptr);
        return NULL;
    }
    return ptr;
}

static void pool_free(Pool *p) {
    for (int i = 0; i < p->n_maps; i++) munmap(p->maps[i].ptr, p->maps[i].size);
    for (size_t i = 0; i < p->n; i++) free(p->ptrs[i]);
    free(p->ptrs);
    free(p);
}

static void pool_incref(Pool *p) { __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED); }

static void pool_decref(Pool *p) {
    if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0) pool_free(p);
}

static void array_release(struct ArrowArray *a) {
    for (int64_t i = 0; i < a->n_children; i++) {
        struct ArrowArray *c = a->children[i];
        if (c != NULL && c->release != NULL) c->release(c);
    }
    Pool *p = (Pool *)a->private_data;
    a->release = NULL;
    pool_decref(p);
}

static void schema_release(struct ArrowSchema *s) {
    for (int64_t i = 0; i < s->n_children; i++) {
        struct ArrowSchema *c = s->children[i];
        if (c != NULL && c->release != NULL) c->release(c);
    }
    Pool *p = (Pool *)s->private_data;
    s->release = NULL;
    pool_decref(p);
}

/* Fill ``a`` as a node of pool ``p`` with room for its buffer and child pointers. */
static int array_init(Pool *p, struct ArrowArray *a, int64_t length, int64_t null_count,
                      int n_buffers, int n_children) {
    memset(a, 0, sizeof(*a));
    a->length = length;
    a->null_count = null_count;
    a->n_buffers = n_buffers;
    a->n_children = n_children;
    a->buffers = (const void **)pool_alloc(p, sizeof(void *) * (size_t)n_buffers);
    if (a->buffers == NULL) return -1;
    if (n_children) {
        a->children = (struct ArrowArray **)pool_alloc(p, sizeof(void *) * (size_t)n_children);
        if (a->children == NULL) return -1;
        for (int i = 0; i < n_children; i++) {
            a->children[i] = (struct ArrowArray *)pool_alloc(p, sizeof(struct ArrowArray));
            if (a->children[i] == NULL) return -1;
        }
    }
    a->release = array_release;
    a->private_data = p;
    pool_incref(p);
    return 0;
}

static int schema_init(Pool *p, struct ArrowSchema *s, const char *format, const char *name,
                       int n_children) {
    memset(s, 0, sizeof(*s));
    s->format = format;
    size_t len = strlen(name);
    char *copy = (char *)pool_alloc(p, len + 1);
    if (copy == NULL) return -1;
    memcpy(copy, name, len);
    s->name = copy;
    s->flags = ARROW_FLAG_NULLABLE;
    s->n_children = n_children;
    if (n_children) {
        s->children = (struct ArrowSchema **)pool_alloc(p, sizeof(void *) * (size_t)n_children);
        if (s->children == NULL) return -1;
        for (int i = 0; i < n_children; i++) {
            s->children[i] = (struct ArrowSchema *)pool_alloc(p, sizeof(struct ArrowSchema));
            if (s->children[i] == NULL) return -1;
        }
    }
    s->release = schema_release;
    s->private_data = p;
    pool_incref(p);
    return 0;
}

/* ---- growable buffers ------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

/* Growable buffers are anonymous mappings grown with mremap (no copy, and huge pages
 * where the kernel allows): fresh 4 KiB pages faulted in one by one were a third of the
 * walk's cost. */
static void *map_new(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    if (size >= (2u << 20)) madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

static int buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap * 2 : ((size_t)1 << 16);
    while (cap < need) cap *= 2;
    cap = (cap + 4095) & ~(size_t)4095;
    void *p;
    if (b->data == NULL) {
        p = map_new(cap);
        if (p == NULL) return -1;
    } else {
        p = mremap(b->data, b->cap, cap, MREMAP_MAYMOVE);
        if (p == MAP_FAILED) return -1;
#ifdef MADV_HUGEPAGE
        if (cap >= (2u << 20)) madvise(p, cap, MADV_HUGEPAGE);
#endif
    }
    b->data = (char *)p;
    b->cap = cap;
    return 0;
}

static void buf_free(Buf *b) {
    if (b->data != NULL) munmap(b->data, b->cap);
    memset(b, 0, sizeof(*b));
}

/* An Arrow string view: length, then the bytes inline (<= 12) or a prefix, the buffer
 * index and the offset in it. */
typedef struct {
    int32_t len;
    union {
        uint8_t inl[12];
        struct {
            uint8_t prefix[4];
            int32_t buf;
            int32_t off;
        } ref;
    } u;
} View;

static inline int put_view(View *dst, const char *s, size_t len, Buf *heap) {
    View v;
    memset(&v, 0, sizeof(v));
    v.len = (int32_t)len;
    if (len <= 12) {
        memcpy(v.u.inl, s, len);
    } else {
        memcpy(v.u.ref.prefix, s, 4);
        v.u.ref.buf = 0;
        v.u.ref.off = (int32_t)heap->len;
        if (buf_reserve(heap, len) < 0) return -1;
        memcpy(heap->data + heap->len, s, len);
        heap->len += len;
    }
    *dst = v;
    return 0;
}

/* ---- dictionaries (convert) -------------------------------------------------------------
 * With ``dictionary`` set, a string column is a uint32 code per row plus the column's
 * distinct values in order of first appearance. polars turns that into a categorical
 * column for almost nothing, and its Parquet writer then takes the dictionary as it is,
 * instead of estimating the cardinality of every column and hashing every value again
 * (write cost 0.6 against 1.0 CPU-s per 100 MB of capture; the files are the same strings,
 * dictionary-encoded as before). */

typedef struct {
    uint32_t *slots; /* code + 1; 0 marks an empty slot */
    size_t mask;     /* number of slots - 1 (a power of two minus one) */
    Buf views;       /* one View per code; long values live once in the heap */
    uint32_t n;
} Dict;

/* Fixed-size loads only: a variable-length memcpy into a word was a library call and a
 * store-forwarding stall, a sixth of the walk. The tail is read as overlapping words
 * (bytes hashed twice are fine: the length is mixed in). */
static inline uint64_t value_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    uint64_t x;
    if (n >= 8) {
        const char *end = s + n;
        while (end - s > 8) {
            memcpy(&x, s, 8);
            h = (h ^ x) * 0xff51afd7ed558ccdull;
            h ^= h >> 32;
            s += 8;
        }
        memcpy(&x, end - 8, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        x = ((uint64_t)b << 32) | a;
    } else {
        x = n ? ((uint64_t)(uint8_t)s[0] | (uint64_t)(uint8_t)s[n / 2] << 8 |
                 (uint64_t)(uint8_t)s[n - 1] << 16)
              : 0;
    }
    h = (h ^ x) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static inline const char *view_bytes(const View *v, const Buf *heap) {
    return v->len <= 12 ? (const char *)v->u.inl : heap->data + v->u.ref.off;
}

static int dict_grow(Dict *d, const Buf *heap) {
    size_t size = d->slots ? (d->mask + 1) * 2 : 256;
    uint32_t *slots = (uint32_t *)calloc(size, sizeof(uint32_t));
    if (slots == NULL) return -1;
    const View *views = (const View *)d->views.data;
    for (uint32_t c = 0; c < d->n; c++) {
        size_t i = (size_t)value_hash(view_bytes(&views[c], heap), (size_t)views[c].len) &
                   (size - 1);
        while (slots[i]) i = (i + 1) & (size - 1);
        slots[i] = c + 1;
    }
    free(d->slots);
    d->slots = slots;
    d->mask = size - 1;
    return 0;
}

/* The code of value s[:n] in d (added at the end if new), or -1 when out of memory. */
static int64_t dict_intern(Dict *d, const char *s, size_t n, Buf *heap) {
    if (d->slots == NULL || ((size_t)d->n + 1) * 2 > d->mask + 1) {
        if (dict_grow(d, heap) < 0) return -1;
    }
    size_t i = (size_t)value_hash(s, n) & d->mask;
    const View *views = (const View *)d->views.data;
    for (uint32_t c; (c = d->slots[i]) != 0; i = (i + 1) & d->mask) {
        const View *v = &views[c - 1];
        if ((size_t)v->len == n && memcmp(view_bytes(v, heap), s, n) == 0) return c - 1;
    }
    if (buf_reserve(&d->views, sizeof(View)) < 0) return -1;
    if (put_view((View *)d->views.data + d->n, s, n, heap) < 0) return -1;
    d->views.len += sizeof(View);
    d->slots[i] = ++d->n;
    return (int64_t)d->n - 1;
}

static void dict_free(Dict *d) {
    free(d->slots);
    buf_free(&d->views);
    memset(d, 0, sizeof(*d));
}

/* ---- text rules ------------------------------------------------------------------------- */

/* Strict UTF-8 (what Python's decoder accepts without replacement). */
static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (i + 32 <= n) {
            uint64_t w[4];
            memcpy(w, s + i, 32);
            if (!((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ULL)) {
                i += 32;
                continue;
            }
        }
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n) return 0;
            unsigned char c1 = s[i + 1], c2 = s[i + 2];
            if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80) return 0;
            if (c == 0xE0 && c1 < 0xA0) return 0; /* overlong */
            if (c == 0xED && c1 > 0x9F) return 0; /* surrogate */
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n) return 0;
            unsigned char c1 = s[i + 1], c2 = s[i + 2], c3 = s[i + 3];
            if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80) return 0;
            if (c == 0xF0 && c1 < 0x90) return 0;
            if (c == 0xF4 && c1 > 0x8F) return 0;
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

static int equal_fold(const char *a, size_t n, const char *lower_word) {
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower_word[i]) return 0;
    return lower_word[n] == '\0';
}

/* A ``Timestamp`` value: ``^[0-9]{1,12}(\.[0-9]{0,6})?$`` -> 1 and its microseconds, as
 * ``(float(value) * 1e6).round()`` (half to even) gives them; 0: not that form; -1: that
 * form but too many digits for an exact double (left to the codec). */
static int parse_stamp(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    uint64_t m = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') m = m * 10 + (uint64_t)(s[i++] - '0');
    if (i == 0 || i > 12) return 0;
    int k = 0;
    if (i < n) {
        if (s[i] != '.') return 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            m = m * 10 + (uint64_t)(s[i++] - '0');
            k++;
        }
        if (i != n || k > 6) return 0;
    }
    if (m >= (1ULL << 53)) return -1;
    static const double pow10[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    /* m and 10^k are exact doubles: one division is the correctly rounded value */
    double v = ((double)m / pow10[k]) * 1000000.0;
    double r = (double)(int64_t)v; /* v >= 0: truncation is floor */
    double d = v - r;
    if (d > 0.5 || (d == 0.5 && ((int64_t)r & 1))) r += 1.0;
    *out = (int64_t)r;
    return 1;
}

/* ---- key lookup ------------------------------------------------------------------------- */

#define SLOTS 512
#define MAX_CODES 250

typedef struct {
    const char *key[MAX_CODES];
    size_t len[MAX_CODES];
    int16_t slot[SLOTS];
} Keys;

static inline unsigned key_hash(const char *k, size_t n) {
    unsigned h = (unsigned)n * 2654435761u;
    h ^= (unsigned char)k[0] * 31u;
    h ^= (unsigned char)k[n - 1] * 131u;
    h ^= (unsigned char)k[n / 2] * 1031u;
    h ^= (unsigned char)k[n / 3] * 7u;
    return (h ^ (h >> 9)) & (SLOTS - 1);
}

static inline int same_bytes(const char *a, const char *b, size_t n) {
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
        a += 8;
        b += 8;
        n -= 8;
    }
    while (n--)
        if (*a++ != *b++) return 0;
    return 1;
}

static inline int keys_lookup(const Keys *t, const char *k, size_t n) {
    if (n == 0) return -1;
    unsigned h = key_hash(k, n);
    for (;;) {
        int c = t->slot[h];
        if (c < 0) return -1;
        if (t->len[c] == n && same_bytes(t->key[c], k, n)) return c;
        h = (h + 1) & (SLOTS - 1);
    }
}

/* ---- the walk --------------------------------------------------------------------------- */

enum { C_EVENT = 0, C_ACTIONID = 1, C_TIMESTAMP = 2, C_ACTION = 3, N_SPECIAL = 4 };

typedef struct {
    int64_t start, end;
} Span;

typedef struct {
    uint32_t frame;
    int64_t start, end;
} Fallback;

typedef struct {
    const char *k;
    const char *v;
    uint32_t klen, vlen;
    int code;
} Line;

typedef struct {
    /* input */
    const char *data;
    int64_t cut;
    int lf;
    int64_t max_frame;
    const Keys *keys;
    int n_codes; /* N_SPECIAL + wide */
    int response;
    /* output */
    void *region; /* the fixed-size columns below, in one zeroed mapping */
    size_t region_size;
    int64_t capacity; /* rows the columns have room for */
    int64_t rows, errors;
    uint32_t *frame;
    int64_t *end;
    int64_t *stamp;
    uint8_t *stamp_valid;
    View *kind, *event;
    View *str;          /* (1 + wide) columns of views: action_id, then the wide ones */
    int dict_mode;      /* string columns as codes + dictionaries (see Dict) */
    uint32_t *codes;    /* with dict_mode: (1 + wide) columns of codes, instead of str */
    Dict *dicts;        /* with dict_mode: one per string column */
    Buf dview;          /* with dict_mode, after the walk: every dictionary, one after another */
    uint8_t *str_valid; /* a bitmap per column */
    int64_t *str_nulls;
    int32_t *offsets;
    Buf ekey, evalue; /* the views of extra's keys and values */
    size_t n_extra;
    Buf heap;
    Fallback *fb;
    size_t n_fb, cap_fb;
    int nomem;
} Walk;

static int add_fallback(Walk *w, uint32_t frame, int64_t start, int64_t end) {
    if (w->n_fb == w->cap_fb) {
        size_t cap = w->cap_fb ? w->cap_fb * 2 : 64;
        Fallback *grown = (Fallback *)realloc(w->fb, cap * sizeof(Fallback));
        if (grown == NULL) return -1;
        w->fb = grown;
        w->cap_fb = cap;
    }
    w->fb[w->n_fb].frame = frame;
    w->fb[w->n_fb].start = start;
    w->fb[w->n_fb].end = end;
    w->n_fb++;
    return 0;
}

static int add_extra(Walk *w, const char *k, size_t klen, const char *v, size_t vlen) {
    if (buf_reserve(&w->ekey, sizeof(View)) < 0 || buf_reserve(&w->evalue, sizeof(View)) < 0)
        return -1;
    if (put_view((View *)w->ekey.data + w->n_extra, k, klen, &w->heap) < 0) return -1;
    if (put_view((View *)w->evalue.data + w->n_extra, v, vlen, &w->heap) < 0) return -1;
    w->n_extra++;
    w->ekey.len += sizeof(View);
    w->evalue.len += sizeof(View);
    return 0;
}

static const char KIND_EVENT[] = "event", KIND_RESPONSE[] = "response", KIND_ACTION[] = "action";

/* One frame (not starting with CR/LF, not empty): 1 row, 0 fallback, -1 rejected,
 * -2 out of memory. */
static int do_frame(Walk *w, int64_t ps, int64_t pe, Line **lines, size_t *cap_lines,
                    int *first, int check_utf8) {
    const char *data = w->data;
    const char *p = data + ps, *e = data + pe;
    if (pe - ps > w->max_frame || memchr(p, ':', (size_t)(pe - ps)) == NULL) return -1;
    if (check_utf8 && !utf8_valid((const unsigned char *)p, (size_t)(pe - ps))) return 0;
    size_t n = 0;
    const char *ls = p;
    int odd = 0;
    for (;;) {
        /* the key is short: scan it bytewise for the colon (or the line's end), then the
         * value with memchr */
        const char *q = ls;
        while (q < e && *q != ':' && *q != '\n') q++;
        const char *colon = NULL, *nl;
        if (q < e && *q == ':') {
            colon = q;
            nl = (const char *)memchr(q + 1, '\n', (size_t)(e - q - 1));
        } else {
            nl = q < e ? q : NULL;
        }
        const char *le, *next;
        if (nl == NULL) {
            le = e;
            next = NULL;
        } else if (w->lf) {
            le = nl;
            next = nl + 1;
        } else if (nl > ls && nl[-1] == '\r') {
            le = nl - 1;
            next = nl + 1;
        } else {
            odd = 1; /* a bare LF in a CRLF stream: the codec's byte lookups could differ */
            break;
        }
        if (colon != NULL) {
            const char *v = colon + 1;
            while (v < le && (*v == ' ' || *v == '\t')) v++;
            size_t klen = (size_t)(colon - ls);
            int code = keys_lookup(w->keys, ls, klen);
            if (code < 0) {
                if ((klen == 5 && equal_fold(ls, klen, "event")) ||
                    (klen == 8 && equal_fold(ls, klen, "response")) ||
                    (klen == 6 && equal_fold(ls, klen, "action")) ||
                    (memchr(ls, '(', klen) != NULL && memchr(ls, ')', klen) == NULL)) {
                    odd = 1; /* case variant of a name key, legacy ChanVariable(a:b) */
                    break;
                }
            }
            if (n == *cap_lines) {
                size_t cap = *cap_lines * 2;
                Line *grown = (Line *)realloc(*lines, cap * sizeof(Line));
                if (grown == NULL) return -2;
                *lines = grown;
                *cap_lines = cap;
            }
            Line *L = &(*lines)[n++];
            L->k = ls;
            L->klen = (uint32_t)klen;
            L->v = v;
            L->vlen = (uint32_t)(le - v);
            L->code = code;
        }
        if (next == NULL) break;
        ls = next;
    }
    if (odd) return 0;
    Line *ln = *lines;
    int touched[MAX_CODES];
    int n_touched = 0;
    for (size_t i = 0; i < n; i++) {
        int c = ln[i].code;
        if (c >= 0 && first[c] < 0) {
            first[c] = (int)i;
            touched[n_touched++] = c;
        }
    }
    int ev = first[C_EVENT], ts = first[C_TIMESTAMP];
    int act = first[C_ACTION], resp = first[w->response];
    int result = 1;
    int64_t micros = 0;
    int has_stamp = 0;
    if (resp >= 0 && ln[resp].vlen == 7 && memcmp(ln[resp].v, "Follows", 7) == 0) {
        result = 0; /* old Command output framed as a plain frame */
    } else if (ts >= 0 && ln[ts].vlen > 0) {
        int r = parse_stamp(ln[ts].v, ln[ts].vlen, &micros);
        if (r == 1)
            has_stamp = 1;
        else
            result = 0; /* a timestamp only Python's float() reads the same way */
    }
    if (result == 1) {
        int64_t row = w->rows;
        if (has_stamp) {
            w->stamp[row] = micros;
            w->stamp_valid[row >> 3] |= (uint8_t)(1u << (row & 7));
        }
        const char *kind;
        size_t kind_len;
        if (ev >= 0) {
            kind = KIND_EVENT;
            kind_len = 5;
        } else if (resp >= 0) {
            kind = KIND_RESPONSE;
            kind_len = 8;
        } else {
            kind = KIND_ACTION;
            kind_len = 6;
        }
        if (put_view(&w->kind[row], kind, kind_len, &w->heap) < 0) return -2;
        int name = ev >= 0                        ? ev
                   : (resp >= 0 && ln[resp].vlen) ? resp
                   : (act >= 0 && ln[act].vlen)   ? act
                                                  : -1;
        if (name >= 0) {
            if (put_view(&w->event[row], ln[name].v, ln[name].vlen, &w->heap) < 0) return -2;
        } else {
            memset(&w->event[row], 0, sizeof(View));
        }
        int64_t vbytes = (w->capacity + 7) >> 3;
        for (int t = 0; t < n_touched; t++) {
            int c = touched[t];
            int col;
            if (c == C_ACTIONID)
                col = 0;
            else if (c >= N_SPECIAL)
                col = 1 + (c - N_SPECIAL);
            else
                continue;
            int64_t slot = (int64_t)col * w->capacity + row;
            w->str_nulls[col]++; /* counts values here; turned into nulls after the walk */
            Line *L = &ln[first[c]];
            if (w->dict_mode) {
                int64_t code = dict_intern(&w->dicts[col], L->v, L->vlen, &w->heap);
                if (code < 0) return -2;
                w->codes[slot] = (uint32_t)code;
            } else if (put_view(&w->str[slot], L->v, L->vlen, &w->heap) < 0) {
                return -2;
            }
            w->str_valid[(int64_t)col * vbytes + (row >> 3)] |= (uint8_t)(1u << (row & 7));
        }
        for (size_t i = 0; i < n; i++) {
            int c = ln[i].code;
            if (c >= 0 && c != C_TIMESTAMP && c != C_ACTION && first[c] == (int)i) continue;
            if (add_extra(w, ln[i].k, ln[i].klen, ln[i].v, ln[i].vlen) < 0) return -2;
        }
        w->offsets[row + 1] = (int32_t)w->n_extra;
    }
    for (int t = 0; t < n_touched; t++) first[touched[t]] = -1;
    return result;
}

/* The first terminator in [p, end) ("\r\n\r\n" or "\n\n"), or NULL: 16 positions at a
 * time where SSE2 is there (glibc's memmem was a tenth of the walk). */
static const char *find_term(const char *p, const char *end, int lf) {
    size_t tlen = lf ? 2 : 4;
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r'), nl = _mm_set1_epi8('\n');
    while (end - p >= 16 + (ptrdiff_t)tlen - 1) {
        __m128i a = _mm_loadu_si128((const __m128i *)p);
        __m128i b = _mm_loadu_si128((const __m128i *)(p + 1));
        __m128i m;
        if (lf) {
            m = _mm_and_si128(_mm_cmpeq_epi8(a, nl), _mm_cmpeq_epi8(b, nl));
        } else {
            __m128i c = _mm_loadu_si128((const __m128i *)(p + 2));
            __m128i d = _mm_loadu_si128((const __m128i *)(p + 3));
            m = _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(b, nl)),
                              _mm_and_si128(_mm_cmpeq_epi8(c, cr), _mm_cmpeq_epi8(d, nl)));
        }
        int mask = _mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    const char *term = lf ? "\n\n" : "\r\n\r\n";
    if (end - p < (ptrdiff_t)tlen) return NULL;
    return (const char *)memmem(p, (size_t)(end - p), term, tlen);
}

/* Cut [0, cut) into parts at the terminator (like ``bytes.split``) and keep the non-empty
 * ones; returns how many parts do not start with CR/LF (the most rows there can be). */
static int64_t find_parts(Walk *w, Span **parts, size_t *n_parts) {
    const char *data = w->data;
    size_t tlen = w->lf ? 2 : 4;
    size_t cap = 1024, n = 0;
    int64_t candidates = 0;
    Span *out = (Span *)malloc(cap * sizeof(Span));
    if (out == NULL) return -1;
    /* As the polars path: data[cut - tlen:cut] is the last frame's terminator, and the
     * text before it is split at the leftmost terminators (so the last frame keeps any
     * CR/LF between a terminator and that one, as in "B\r\n" + "\r\n\r\n"). */
    int64_t stop = w->cut >= (int64_t)tlen ? w->cut - (int64_t)tlen : 0;
    int64_t pos = 0;
    for (;;) {
        const char *hit = find_term(data + pos, data + stop, w->lf);
        int64_t end = hit ? (int64_t)(hit - data) : stop;
        if (end > pos) {
            if (n == cap) {
                cap *= 2;
                Span *grown = (Span *)realloc(out, cap * sizeof(Span));
                if (grown == NULL) {
                    free(out);
                    return -1;
                }
                out = grown;
            }
            out[n].start = pos;
            out[n].end = end;
            n++;
            if (data[pos] != '\r' && data[pos] != '\n') candidates++;
        }
        if (hit == NULL) break;
        pos = end + (int64_t)tlen;
    }
    *parts = out;
    *n_parts = n;
    return candidates;
}

static int walk(Walk *w) {
    Span *parts = NULL;
    size_t n_parts = 0;
    int64_t cap = find_parts(w, &parts, &n_parts);
    if (cap < 0) return -1;
    int64_t tlen = w->lf ? 2 : 4;
    int n_str = 1 + (w->n_codes - N_SPECIAL);
    w->capacity = cap;
    size_t rows = (size_t)(cap ? cap : 1);
    size_t vbytes = (rows + 7) >> 3;
    /* One fresh anonymous mapping (zeroed by the kernel, in huge pages where the kernel
     * allows) for every fixed-size column: most of it is the views of wide columns that
     * are mostly null, and page faults were a third of the walk's cost. */
    size_t sizes[] = {
        rows * sizeof(uint32_t),           /* frame */
        rows * sizeof(int64_t),            /* end */
        rows * sizeof(int64_t),            /* stamp */
        vbytes,                            /* stamp_valid */
        rows * sizeof(View),               /* kind */
        rows * sizeof(View),               /* event */
        rows * (size_t)n_str * (w->dict_mode ? sizeof(uint32_t) : sizeof(View)), /* str */
        vbytes * (size_t)n_str,            /* str_valid */
        (rows + 1) * sizeof(int32_t),      /* offsets */
    };
    size_t offs[sizeof(sizes) / sizeof(sizes[0])];
    size_t total = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        offs[i] = total;
        total += (sizes[i] + 63) & ~(size_t)63;
    }
    void *region = map_new(total);
    if (region == NULL) return -1;
    w->region = region;
    w->region_size = total;
    char *base = (char *)region;
    w->frame = (uint32_t *)(base + offs[0]);
    w->end = (int64_t *)(base + offs[1]);
    w->stamp = (int64_t *)(base + offs[2]);
    w->stamp_valid = (uint8_t *)(base + offs[3]);
    w->kind = (View *)(base + offs[4]);
    w->event = (View *)(base + offs[5]);
    if (w->dict_mode)
        w->codes = (uint32_t *)(base + offs[6]);
    else
        w->str = (View *)(base + offs[6]);
    w->str_valid = (uint8_t *)(base + offs[7]);
    w->offsets = (int32_t *)(base + offs[8]);
    w->str_nulls = (int64_t *)calloc((size_t)n_str, sizeof(int64_t));
    if (w->dict_mode) w->dicts = (Dict *)calloc((size_t)n_str, sizeof(Dict));
    /* room for about one extra header per 32 bytes: a real capture needs no regrowth */
    size_t extra_bytes = ((size_t)(w->cut / 32) + 1024) * sizeof(View);
    int reserved = buf_reserve(&w->ekey, extra_bytes) == 0 &&
                   buf_reserve(&w->evalue, extra_bytes) == 0 &&
                   buf_reserve(&w->heap, (size_t)(w->cut / 4) + 64) == 0;
    size_t cap_lines = 64;
    Line *lines = (Line *)malloc(cap_lines * sizeof(Line));
    int first[MAX_CODES];
    for (int i = 0; i < MAX_CODES; i++) first[i] = -1;
    if (!w->str_nulls || !reserved || !lines || (w->dict_mode && !w->dicts)) {
        free(parts);
        free(lines);
        return -1;
    }
    /* frames are cut at ASCII bytes: a valid buffer has only valid frames */
    int check_utf8 = !utf8_valid((const unsigned char *)w->data, (size_t)w->cut);
    uint32_t frame_no = 0;
    int rc = 0;
    for (size_t i = 0; i < n_parts; i++) {
        int64_t ps = parts[i].start, pe = parts[i].end;
        char c0 = w->data[ps];
        if (c0 == '\r' || c0 == '\n') {
            int64_t q = ps;
            while (q < pe && (w->data[q] == '\r' || w->data[q] == '\n')) q++;
            if (q == pe) continue; /* only CR/LF: dropped, as the codec does */
            uint32_t f = frame_no++;
            if (pe - ps > w->max_frame || memchr(w->data + ps, ':', (size_t)(pe - ps)) == NULL) {
                w->errors++;
                continue;
            }
            if (add_fallback(w, f, q, pe) < 0) {
                rc = -1;
                break;
            }
            continue;
        }
        uint32_t f = frame_no++;
        int r = do_frame(w, ps, pe, &lines, &cap_lines, first, check_utf8);
        if (r == 1) {
            w->frame[w->rows] = f;
            w->end[w->rows] = pe + tlen;
            w->rows++;
        } else if (r == 0) {
            if (add_fallback(w, f, ps, pe) < 0) {
                rc = -1;
                break;
            }
        } else if (r == -1) {
            w->errors++;
        } else {
            rc = -1;
            break;
        }
    }
    free(parts);
    free(lines);
    if (rc == 0) {
        for (int c = 0; c < n_str; c++) w->str_nulls[c] = w->rows - w->str_nulls[c];
    }
    return rc;
}

static void walk_free(Walk *w) {
    if (w->region != NULL) munmap(w->region, w->region_size);
    free(w->str_nulls);
    if (w->dicts != NULL) {
        for (int c = 0; c < 1 + (w->n_codes - N_SPECIAL); c++) dict_free(&w->dicts[c]);
        free(w->dicts);
    }
    buf_free(&w->dview);
    buf_free(&w->ekey);
    buf_free(&w->evalue);
    buf_free(&w->heap);
    free(w->fb);
    memset(w, 0, sizeof(*w));
}

/* ---- export ------------------------------------------------------------------------------ */

static int64_t count_nulls(const uint8_t *bits, int64_t n) {
    int64_t set = 0;
    for (int64_t r = 0; r < n; r++) set += (bits[r >> 3] >> (r & 7)) & 1;
    return n - set;
}

/* A string-view column: validity (or NULL), views, the shared heap, its size. */
static int view_array(Pool *p, struct ArrowArray *a, int64_t length, int64_t nulls,
                      const uint8_t *valid, const View *views, const char *heap,
                      const int64_t *heap_size) {
    if (array_init(p, a, length, nulls, 4, 0) < 0) return -1;
    a->buffers[0] = nulls ? valid : NULL;
    a->buffers[1] = views;
    a->buffers[2] = heap;
    a->buffers[3] = heap_size;
    return 0;
}

static void schema_capsule_free(PyObject *capsule) {
    struct ArrowSchema *s = (struct ArrowSchema *)PyCapsule_GetPointer(capsule, "arrow_schema");
    if (s == NULL) {
        PyErr_Clear();
        return;
    }
    if (s->release != NULL) s->release(s);
    free(s);
}

static void array_capsule_free(PyObject *capsule) {
    struct ArrowArray *a = (struct ArrowArray *)PyCapsule_GetPointer(capsule, "arrow_array");
    if (a == NULL) {
        PyErr_Clear();
        return;
    }
    if (a->release != NULL) a->release(a);
    free(a);
}

/* Hand the walk's buffers to a pool and describe them; on success the walk owns nothing. */
static int export_walk(Walk *w, PyObject *names, struct ArrowSchema *schema,
                       struct ArrowArray *array) {
    int n_wide = w->n_codes - N_SPECIAL;
    int n_str = 1 + n_wide;
    /* frame kind event timestamp str.. extra _end, and with dict_mode _dict */
    int n_cols = 1 + 2 + 1 + n_str + 1 + 1 + (w->dict_mode ? 1 : 0);
    int64_t rows = w->rows;
    Pool *sp = pool_new(), *ap = pool_new();
    if (sp == NULL || ap == NULL) {
        free(sp);
        free(ap);
        return -1;
    }
    /* every buffer now belongs to the array pool (room reserved: adopting cannot fail) */
    if (pool_reserve(ap, 64) < 0) goto fail_pools;
    if (w->heap.data == NULL && buf_reserve(&w->heap, 1) < 0) goto fail_pools;
    if (w->ekey.data == NULL && buf_reserve(&w->ekey, sizeof(View)) < 0) goto fail_pools;
    if (w->evalue.data == NULL && buf_reserve(&w->evalue, sizeof(View)) < 0) goto fail_pools;
    if (w->dict_mode && w->dview.data == NULL && buf_reserve(&w->dview, sizeof(View)) < 0)
        goto fail_pools;
    ap->maps[0].ptr = w->region;
    ap->maps[0].size = w->region_size;
    ap->maps[1].ptr = w->ekey.data;
    ap->maps[1].size = w->ekey.cap;
    ap->maps[2].ptr = w->evalue.data;
    ap->maps[2].size = w->evalue.cap;
    ap->maps[3].ptr = w->heap.data;
    ap->maps[3].size = w->heap.cap;
    ap->n_maps = 4;
    if (w->dict_mode) {
        ap->maps[4].ptr = w->dview.data;
        ap->maps[4].size = w->dview.cap;
        ap->n_maps = 5;
    }
    /* adopted: from here on a failure frees them through the pool only */
    int64_t *heap_size = (int64_t *)pool_alloc(ap, sizeof(int64_t));
    if (heap_size == NULL) goto fail_adopted;
    *heap_size = (int64_t)w->heap.len;
    const View *ekey = (const View *)w->ekey.data, *evalue = (const View *)w->evalue.data;
    const char *heap = w->heap.data;
    size_t vbytes = ((size_t)(w->capacity ? w->capacity : 1) + 7) >> 3;
    size_t cap = (size_t)(w->capacity ? w->capacity : 1);

    /* schema */
    if (schema_init(sp, schema, "+s", "", n_cols) < 0) goto fail_adopted;
    schema->flags = 0;
    {
        int i = 0;
        if (schema_init(sp, schema->children[i++], "I", "frame", 0) < 0) goto fail_adopted;
        if (schema_init(sp, schema->children[i++], "vu", "kind", 0) < 0) goto fail_adopted;
        if (schema_init(sp, schema->children[i++], "vu", "event", 0) < 0) goto fail_adopted;
        if (schema_init(sp, schema->children[i++], "tsu:UTC", "timestamp", 0) < 0)
            goto fail_adopted;
        if (schema_init(sp, schema->children[i++], w->dict_mode ? "I" : "vu", "action_id", 0) < 0)
            goto fail_adopted;
        for (int c = 0; c < n_wide; c++) {
            PyObject *name = PyTuple_GET_ITEM(names, N_SPECIAL + c);
            const char *utf8 = PyUnicode_AsUTF8(name);
            if (utf8 == NULL) goto fail_adopted;
            if (schema_init(sp, schema->children[i++], w->dict_mode ? "I" : "vu", utf8, 0) < 0)
                goto fail_adopted;
        }
        struct ArrowSchema *extra = schema->children[i++];
        if (schema_init(sp, extra, "+l", "extra", 1) < 0) goto fail_adopted;
        if (schema_init(sp, extra->children[0], "+s", "item", 2) < 0) goto fail_adopted;
        if (schema_init(sp, extra->children[0]->children[0], "vu", "key", 0) < 0)
            goto fail_adopted;
        if (schema_init(sp, extra->children[0]->children[1], "vu", "value", 0) < 0)
            goto fail_adopted;
        if (schema_init(sp, schema->children[i++], "l", "_end", 0) < 0) goto fail_adopted;
        if (w->dict_mode) {
            /* every column's dictionary, one after the other, as the list of row 0 */
            struct ArrowSchema *dict = schema->children[i++];
            if (schema_init(sp, dict, "+l", "_dict", 1) < 0) goto fail_adopted;
            if (schema_init(sp, dict->children[0], "vu", "item", 0) < 0) goto fail_adopted;
        }
    }

    /* arrays */
    if (array_init(ap, array, rows, 0, 1, n_cols) < 0) goto fail_adopted;
    array->buffers[0] = NULL;
    {
        int i = 0;
        struct ArrowArray *a = array->children[i++];
        if (array_init(ap, a, rows, 0, 2, 0) < 0) goto fail_adopted;
        a->buffers[0] = NULL;
        a->buffers[1] = w->frame;
        a = array->children[i++];
        if (view_array(ap, a, rows, 0, NULL, w->kind, heap, heap_size) < 0) goto fail_adopted;
        a = array->children[i++];
        if (view_array(ap, a, rows, 0, NULL, w->event, heap, heap_size) < 0) goto fail_adopted;
        a = array->children[i++];
        int64_t stamp_nulls = count_nulls(w->stamp_valid, rows);
        if (array_init(ap, a, rows, stamp_nulls, 2, 0) < 0) goto fail_adopted;
        a->buffers[0] = stamp_nulls ? w->stamp_valid : NULL;
        a->buffers[1] = w->stamp;
        for (int c = 0; c < n_str; c++) {
            a = array->children[i++];
            const uint8_t *valid = w->str_valid + (size_t)c * vbytes;
            if (w->dict_mode) {
                if (array_init(ap, a, rows, w->str_nulls[c], 2, 0) < 0) goto fail_adopted;
                a->buffers[0] = w->str_nulls[c] ? valid : NULL;
                a->buffers[1] = w->codes + (size_t)c * cap;
            } else if (view_array(ap, a, rows, w->str_nulls[c], valid, w->str + (size_t)c * cap,
                                  heap, heap_size) < 0) {
                goto fail_adopted;
            }
        }
        a = array->children[i++];
        if (array_init(ap, a, rows, 0, 2, 1) < 0) goto fail_adopted;
        a->buffers[0] = NULL;
        a->buffers[1] = w->offsets;
        struct ArrowArray *item = a->children[0];
        int64_t n_extra = (int64_t)w->n_extra;
        if (array_init(ap, item, n_extra, 0, 1, 2) < 0) goto fail_adopted;
        item->buffers[0] = NULL;
        if (view_array(ap, item->children[0], n_extra, 0, NULL, ekey, heap, heap_size) < 0)
            goto fail_adopted;
        if (view_array(ap, item->children[1], n_extra, 0, NULL, evalue, heap, heap_size) < 0)
            goto fail_adopted;
        a = array->children[i++];
        if (array_init(ap, a, rows, 0, 2, 0) < 0) goto fail_adopted;
        a->buffers[0] = NULL;
        a->buffers[1] = w->end;
        if (w->dict_mode) {
            int64_t total = (int64_t)(w->dview.len / sizeof(View));
            a = array->children[i++];
            if (array_init(ap, a, rows, 0, 2, 1) < 0) goto fail_adopted;
            int32_t *offsets = (int32_t *)pool_alloc(ap, sizeof(int32_t) * (size_t)(rows + 1));
            if (offsets == NULL) goto fail_adopted;
            for (int64_t r = 1; r <= rows; r++) offsets[r] = (int32_t)total;
            a->buffers[0] = NULL;
            a->buffers[1] = offsets;
            if (view_array(ap, a->children[0], total, 0, NULL, (const View *)w->dview.data, heap,
                           heap_size) < 0)
                goto fail_adopted;
        }
    }
    /* the pools own the buffers now */
    free(w->str_nulls);
    free(w->fb);
    memset(w, 0, sizeof(*w));
    if (sp->refs == 0) pool_free(sp);
    return 0;

fail_adopted:
    /* release what was built (refs), then the pools; the walk no longer owns its buffers */
    if (array->release) array->release(array);
    else if (ap->refs == 0) pool_free(ap);
    if (schema->release) schema->release(schema);
    else if (sp->refs == 0) pool_free(sp);
    free(w->str_nulls);
    free(w->fb);
    memset(w, 0, sizeof(*w));
    return -1;
fail_pools: /* nothing adopted: the walk still owns its buffers */
    pool_free(sp);
    pool_free(ap);
    walk_free(w);
    return -1;
}

/* ---- Python ------------------------------------------------------------------------------ */

static int build_keys(PyObject *names, Keys *keys, int *response) {
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    if (n < N_SPECIAL || n > MAX_CODES) {
        PyErr_SetString(PyExc_ValueError, "names: between 4 and 250 column keys");
        return -1;
    }
    memset(keys->slot, 0xff, sizeof(keys->slot));
    *response = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "names must be str");
            return -1;
        }
        Py_ssize_t len;
        const char *utf8 = PyUnicode_AsUTF8AndSize(name, &len);
        if (utf8 == NULL) return -1;
        if (len == 0) {
            PyErr_SetString(PyExc_ValueError, "empty column key");
            return -1;
        }
        keys->key[i] = utf8;
        keys->len[i] = (size_t)len;
        if (len == 8 && memcmp(utf8, "Response", 8) == 0) *response = (int)i;
        if (keys_lookup(keys, utf8, (size_t)len) >= 0) {
            PyErr_SetString(PyExc_ValueError, "duplicate column key");
            return -1;
        }
        unsigned h = key_hash(utf8, (size_t)len);
        while (keys->slot[h] >= 0) h = (h + 1) & (SLOTS - 1);
        keys->slot[h] = (int16_t)i;
    }
    if (*response < N_SPECIAL) {
        PyErr_SetString(PyExc_ValueError, "names: Response must be a wide column");
        return -1;
    }
    return 0;
}

static PyObject *split(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t cut;
    int lf;
    long long max_frame;
    PyObject *names;
    int dictionary = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*npLO!|p:split", &view, &cut, &lf, &max_frame, &PyTuple_Type,
                          &names, &dictionary))
        return NULL;
    PyObject *sizes = NULL;
    PyObject *result = NULL;
    Keys keys;
    Walk w;
    memset(&w, 0, sizeof(w));
    if (cut < 0 || cut > view.len) {
        PyErr_SetString(PyExc_ValueError, "cut outside the buffer");
        goto done;
    }
    if (cut > (Py_ssize_t)(256 << 20)) { /* view offsets are 32-bit: leave it to polars */
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (build_keys(names, &keys, &w.response) < 0) goto done;
    w.data = (const char *)view.buf;
    w.cut = cut;
    w.lf = lf;
    w.max_frame = max_frame;
    w.keys = &keys;
    w.n_codes = (int)PyTuple_GET_SIZE(names);
    w.dict_mode = dictionary;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = walk(&w);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
        walk_free(&w);
        goto done;
    }
    if (dictionary) {
        /* the dictionaries, one after the other, and their sizes */
        int n_str = 1 + (w.n_codes - N_SPECIAL);
        sizes = PyList_New(n_str);
        size_t total = 0;
        for (int c = 0; c < n_str; c++) total += w.dicts[c].n;
        if (sizes == NULL || buf_reserve(&w.dview, (total ? total : 1) * sizeof(View)) < 0) {
            if (sizes != NULL) PyErr_NoMemory();
            walk_free(&w);
            goto done;
        }
        for (int c = 0; c < n_str; c++) {
            Dict *d = &w.dicts[c];
            PyObject *n = PyLong_FromUnsignedLong(d->n);
            if (n == NULL) {
                walk_free(&w);
                goto done;
            }
            PyList_SET_ITEM(sizes, c, n);
            if (d->n) memcpy(w.dview.data + w.dview.len, d->views.data, d->n * sizeof(View));
            w.dview.len += d->n * sizeof(View);
            dict_free(d);
        }
        free(w.dicts);
        w.dicts = NULL;
    } else {
        sizes = Py_NewRef(Py_None);
    }
    PyObject *fallback = PyList_New((Py_ssize_t)w.n_fb);
    if (fallback == NULL) {
        walk_free(&w);
        goto done;
    }
    for (size_t i = 0; i < w.n_fb; i++) {
        PyObject *item = Py_BuildValue("(ILL)", w.fb[i].frame, (long long)w.fb[i].start,
                                       (long long)w.fb[i].end);
        if (item == NULL) {
            Py_DECREF(fallback);
            walk_free(&w);
            goto done;
        }
        PyList_SET_ITEM(fallback, (Py_ssize_t)i, item);
    }
    long long rows = (long long)w.rows, errors = (long long)w.errors;
    struct ArrowSchema *schema = (struct ArrowSchema *)calloc(1, sizeof(struct ArrowSchema));
    struct ArrowArray *array = (struct ArrowArray *)calloc(1, sizeof(struct ArrowArray));
    if (schema == NULL || array == NULL) {
        free(schema);
        free(array);
        Py_DECREF(fallback);
        walk_free(&w);
        PyErr_NoMemory();
        goto done;
    }
    if (export_walk(&w, names, schema, array) < 0) {
        free(schema);
        free(array);
        Py_DECREF(fallback);
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    PyObject *sc = PyCapsule_New(schema, "arrow_schema", schema_capsule_free);
    if (sc == NULL) {
        schema->release(schema);
        free(schema);
        array->release(array);
        free(array);
        Py_DECREF(fallback);
        goto done;
    }
    PyObject *ac = PyCapsule_New(array, "arrow_array", array_capsule_free);
    if (ac == NULL) {
        Py_DECREF(sc);
        array->release(array);
        free(array);
        Py_DECREF(fallback);
        goto done;
    }
    result = Py_BuildValue("(NNLLNO)", sc, ac, rows, errors, fallback, sizes);
done:
    Py_XDECREF(sizes);
    PyBuffer_Release(&view);
    return result;
}

/* Whether ``needle`` occurs in [h, h + n): candidates where both its first and last byte
 * match, 16 positions at a time, then a compare (CPython's two-way search was 4 % of
 * convert, for one look over the whole file). */
static int find_bytes(const char *h, size_t n, const char *s, size_t m) {
    if (m == 0) return 1;
    if (m > n) return 0;
    if (m == 1) return memchr(h, s[0], n) != NULL;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i first = _mm_set1_epi8(s[0]), last = _mm_set1_epi8(s[m - 1]);
    for (; i + m - 1 + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(h + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(h + i + m - 1));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
        while (mask) {
            unsigned bit = (unsigned)__builtin_ctz(mask);
            if (memcmp(h + i + bit + 1, s + 1, m - 2) == 0) return 1;
            mask &= mask - 1;
        }
    }
#endif
    for (; i + m <= n; i++)
        if (h[i] == s[0] && memcmp(h + i, s, m) == 0) return 1;
    return 0;
}

static PyObject *contains(PyObject *self, PyObject *args) {
    Py_buffer hay, needle;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*:contains", &hay, &needle)) return NULL;
    int found;
    Py_BEGIN_ALLOW_THREADS
    found = find_bytes((const char *)hay.buf, (size_t)hay.len, (const char *)needle.buf,
                       (size_t)needle.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&hay);
    PyBuffer_Release(&needle);
    return PyBool_FromLong(found);
}

static PyMethodDef methods[] = {
    {"contains", contains, METH_VARARGS,
     "contains(haystack, needle) -> bool: needle occurs in haystack (bytes-like objects)."},
    {"split", split, METH_VARARGS,
     "split(data, cut, lf, max_frame_size, names, dictionary=False) -> (schema, array, rows,"
     " errors, fallback, sizes) or None: the rows of the whole frames in data[:cut] as an Arrow"
     " struct array; with dictionary, string columns are codes into per-column dictionaries"
     " (their sizes; the values in column _dict, row 0)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_columns",
    "AMI text to the recording layout's columns (native twin of amikit.record._vector).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__columns(void) { return PyModule_Create(&module); }
