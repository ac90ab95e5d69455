/*
 * The age payload (C2SP age.md §Payload): STREAM over ChaCha20-Poly1305 with 64 KiB
 * chunks, 12-byte nonces made of an 11-byte big-endian counter and a last-chunk flag.
 *
 * Chunks are independent, so batches of them ("slots") are sealed or opened by worker
 * threads while the calling thread reads ahead and writes completed slots in order.
 * Memory is bounded by the slot count, whatever the input size.
 */
#include "age/internal.h"
#include "fleet/error.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK FL_AGE_CHUNK_SIZE
#define SEALED_CHUNK (CHUNK + AGE_TAG_LEN)
#define SLOT_CHUNKS 16
#define MAX_SLOTS 8
#define MAX_THREADS 8

enum slot_state { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE };

struct slot {
	uint8_t *buf; /* SLOT_CHUNKS sealed-chunk-sized cells */
	size_t nchunks;
	size_t len[SLOT_CHUNKS]; /* input length of each chunk */
	uint64_t counter;        /* STREAM counter of the first chunk */
	int final;               /* the slot's last chunk is the payload's last */
	size_t failed;           /* first chunk that did not authenticate, or SIZE_MAX */
	uint64_t seq;
	enum slot_state state;
};

struct stream {
	uint8_t key[32];
	int decrypt;
	struct age_bufreader *in;
	struct fl_age_writer out;
	uint64_t counter;
	int have_carry;
	uint8_t carry;
	int input_done;

	struct slot slots[MAX_SLOTS];
	size_t nslots;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	int stop;
};

static EVP_CIPHER_CTX *chunk_ctx_new(const uint8_t key[32], int decrypt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return NULL;
	if (EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, key, NULL, decrypt ? 0 : 1) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

static void chunk_nonce(uint8_t nonce[12], uint64_t counter, int last)
{
	/* age: nonce = 11-byte big-endian chunk counter || 0x01 for the last chunk, else 0x00. */
	memset(nonce, 0, 12);
	for (int i = 0; i < 8; i++)
		nonce[10 - i] = (uint8_t)(counter >> (8 * i));
	nonce[11] = last ? 1 : 0;
}

static int chunk_seal(EVP_CIPHER_CTX *c, uint64_t counter, int last, uint8_t *p, size_t len)
{
	uint8_t nonce[12];
	int n1 = 0, n2 = 0;
	chunk_nonce(nonce, counter, last);
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 1) != 1 ||
	    (len && EVP_CipherUpdate(c, p, &n1, p, (int)len) != 1) ||
	    EVP_CipherFinal_ex(c, p + n1, &n2) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, AGE_TAG_LEN, p + len) != 1)
		return -1;
	return 0;
}

/* Returns 0 if the chunk authenticated (plaintext left in place), -1 if not. */
static int chunk_open(EVP_CIPHER_CTX *c, uint64_t counter, int last, uint8_t *p, size_t len)
{
	uint8_t nonce[12];
	int n1 = 0, n2 = 0;
	size_t plen = len - AGE_TAG_LEN;
	chunk_nonce(nonce, counter, last);
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, AGE_TAG_LEN, p + plen) != 1 ||
	    (plen && EVP_CipherUpdate(c, p, &n1, p, (int)plen) != 1) ||
	    EVP_CipherFinal_ex(c, p + n1, &n2) != 1) {
		sodium_memzero(p, plen);
		return -1;
	}
	return 0;
}

static void slot_process(struct stream *s, struct slot *sl, EVP_CIPHER_CTX *c)
{
	sl->failed = SIZE_MAX;
	for (size_t i = 0; i < sl->nchunks; i++) {
		uint8_t *p = sl->buf + i * SEALED_CHUNK;
		int last = sl->final && i + 1 == sl->nchunks;
		int rc = s->decrypt ? chunk_open(c, sl->counter + i, last, p, sl->len[i])
		                    : chunk_seal(c, sl->counter + i, last, p, sl->len[i]);
		if (rc < 0) {
			sl->failed = i;
			return;
		}
	}
}

/* Reads up to `want` bytes of the next chunk into p, starting with a byte carried over
 * from the look-ahead that told the previous chunk was not the last. */
static ssize_t read_chunk(struct stream *s, uint8_t *p, size_t want)
{
	size_t n = 0;
	if (s->have_carry) {
		p[0] = s->carry;
		s->have_carry = 0;
		s->carry = 0;
		n = 1;
	}
	ssize_t r = age_bufreader_read_full(s->in, p + n, want - n);
	if (r < 0)
		return -1;
	return (ssize_t)n + r;
}

/* After a full chunk: is there more input? */
static int look_ahead(struct stream *s)
{
	ssize_t r = age_bufreader_read_full(s->in, &s->carry, 1);
	if (r < 0)
		return -1;
	s->have_carry = r == 1;
	return r == 1;
}

static int slot_fill(struct stream *s, struct slot *sl)
{
	size_t want = s->decrypt ? SEALED_CHUNK : CHUNK;
	sl->nchunks = 0;
	sl->final = 0;
	sl->counter = s->counter;
	while (sl->nchunks < SLOT_CHUNKS) {
		uint8_t *p = sl->buf + sl->nchunks * SEALED_CHUNK;
		ssize_t n = read_chunk(s, p, want);
		if (n < 0)
			return -1;
		if (s->decrypt) {
			/* age: every payload has at least one chunk, each with a tag. */
			if (n == 0 && s->counter == 0)
				return fl_error_set(FL_E_AGE_PAYLOAD,
				                    "the payload is missing (file truncated)");
			if ((size_t)n < AGE_TAG_LEN)
				return fl_error_set(
				    FL_E_AGE_PAYLOAD,
				    "chunk %llu is too short to be a chunk: the file was "
				    "truncated or has data appended",
				    (unsigned long long)s->counter);
			/* age: the last chunk may be empty only if it is the only one. */
			if ((size_t)n == AGE_TAG_LEN && s->counter != 0)
				return fl_error_set(FL_E_AGE_PAYLOAD,
				                    "chunk %llu: the last chunk is empty (file "
				                    "truncated or tampered)",
				                    (unsigned long long)s->counter);
		}
		sl->len[sl->nchunks++] = (size_t)n;
		if (s->counter == UINT64_MAX)
			return fl_error_set(FL_E_AGE_PAYLOAD, "payload too long");
		s->counter++;
		int more = 0;
		if ((size_t)n == want && (more = look_ahead(s)) < 0)
			return -1;
		if (!more) {
			sl->final = 1;
			s->input_done = 1;
			break;
		}
	}
	return 0;
}

static int slot_write(struct stream *s, struct slot *sl)
{
	if (!s->decrypt) {
		size_t total = 0;
		for (size_t i = 0; i < sl->nchunks; i++)
			total += sl->len[i] + AGE_TAG_LEN;
		/* Every chunk but the last is full, so the sealed chunks are contiguous. */
		if (sl->failed != SIZE_MAX)
			return fl_error_set(FL_E_CRYPTO, "ChaCha20-Poly1305 encryption failed");
		return s->out.write(s->out.ctx, sl->buf, total);
	}
	size_t good = sl->failed == SIZE_MAX ? sl->nchunks : sl->failed;
	for (size_t i = 0; i < good; i++)
		if (s->out.write(s->out.ctx, sl->buf + i * SEALED_CHUNK, sl->len[i] - AGE_TAG_LEN) <
		    0)
			return -1;
	if (sl->failed != SIZE_MAX) {
		uint64_t bad = sl->counter + sl->failed;
		int last = sl->final && sl->failed + 1 == sl->nchunks;
		return fl_error_set(FL_E_AGE_PAYLOAD,
		                    "chunk %llu%s failed to authenticate: the file is corrupted, "
		                    "truncated or its chunks were reordered",
		                    (unsigned long long)bad, last ? " (the last)" : "");
	}
	return 0;
}

/* Called with the lock held. */
static struct slot *oldest_ready(struct stream *s)
{
	struct slot *pick = NULL;
	for (size_t i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];
		if (sl->state == SLOT_READY && (!pick || sl->seq < pick->seq))
			pick = sl;
	}
	return pick;
}

static void *worker_main(void *arg)
{
	struct stream *s = arg;
	EVP_CIPHER_CTX *c = chunk_ctx_new(s->key, s->decrypt);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct slot *pick = NULL;
		while (!s->stop && !(pick = oldest_ready(s)))
			pthread_cond_wait(&s->work_cv, &s->mu);
		if (s->stop)
			break;
		pick->state = SLOT_BUSY;
		pthread_mutex_unlock(&s->mu);
		if (c)
			slot_process(s, pick, c);
		else
			pick->failed = 0;
		pthread_mutex_lock(&s->mu);
		pick->state = SLOT_DONE;
		pthread_cond_broadcast(&s->done_cv);
	}
	pthread_mutex_unlock(&s->mu);
	EVP_CIPHER_CTX_free(c);
	return NULL;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

static int run_single(struct stream *s, struct slot *sl)
{
	EVP_CIPHER_CTX *c = chunk_ctx_new(s->key, s->decrypt);
	if (!c)
		return fl_error_set(FL_E_CRYPTO, "cannot set up ChaCha20-Poly1305");
	int rc = 0;
	for (int first = 1; !s->input_done || first; first = 0) {
		if (!first && (rc = slot_fill(s, sl)) < 0)
			break;
		slot_process(s, sl, c);
		if ((rc = slot_write(s, sl)) < 0)
			break;
	}
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static int run_parallel(struct stream *s, unsigned nthreads)
{
	pthread_t tids[MAX_THREADS];
	unsigned started = 0;
	int rc = 0;
	uint64_t seq_fill = 1, seq_write = 0; /* slot 0 was filled by the caller */

	EVP_CIPHER_CTX *c = chunk_ctx_new(s->key, s->decrypt);
	if (!c)
		return fl_error_set(FL_E_CRYPTO, "cannot set up ChaCha20-Poly1305");
	s->slots[0].state = SLOT_READY;
	s->slots[0].seq = 0;
	/* The calling thread reads, writes and helps, so it counts as one worker. */
	for (; started + 1 < nthreads; started++)
		if (pthread_create(&tids[started], NULL, worker_main, s) != 0)
			break;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		/* Read ahead into every free slot. */
		while (!rc && !s->input_done) {
			struct slot *sl = &s->slots[seq_fill % s->nslots];
			if (sl->state != SLOT_FREE)
				break;
			pthread_mutex_unlock(&s->mu);
			rc = slot_fill(s, sl);
			pthread_mutex_lock(&s->mu);
			if (rc < 0) {
				/* What was read before the failure is still processed and written.
				 */
				if (!sl->nchunks)
					break;
			}
			sl->seq = seq_fill++;
			sl->state = SLOT_READY;
			pthread_cond_broadcast(&s->work_cv);
		}
		if (seq_write == seq_fill)
			break;
		struct slot *sl = &s->slots[seq_write % s->nslots];
		while (sl->state != SLOT_DONE) {
			/* Rather than wait, help: process the oldest slot nobody has taken. */
			struct slot *pick = oldest_ready(s);
			if (!pick) {
				pthread_cond_wait(&s->done_cv, &s->mu);
				continue;
			}
			pick->state = SLOT_BUSY;
			pthread_mutex_unlock(&s->mu);
			slot_process(s, pick, c);
			pthread_mutex_lock(&s->mu);
			pick->state = SLOT_DONE;
		}
		pthread_mutex_unlock(&s->mu);
		int wrc = slot_write(s, sl);
		pthread_mutex_lock(&s->mu);
		sl->state = SLOT_FREE;
		seq_write++;
		if (wrc < 0) {
			rc = wrc;
			break;
		}
	}
	s->stop = 1;
	pthread_cond_broadcast(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static int stream_run(const uint8_t key[32], int decrypt, unsigned threads,
                      struct age_bufreader *in, struct fl_age_writer out)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (!s)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	memcpy(s->key, key, 32);
	s->decrypt = decrypt;
	s->in = in;
	s->out = out;
	if (!threads)
		threads = default_threads();
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	s->nslots = threads > 1 ? 2 * threads + 2 : 1;
	if (s->nslots > MAX_SLOTS)
		s->nslots = MAX_SLOTS;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);

	int rc = 0;
	s->slots[0].buf = malloc(SLOT_CHUNKS * SEALED_CHUNK);
	if (!s->slots[0].buf) {
		rc = fl_error_set(FL_E_NOMEM, "out of memory");
		goto out;
	}
	/* Small inputs never start a thread. */
	if ((rc = slot_fill(s, &s->slots[0])) < 0)
		goto out;
	if (s->input_done || threads == 1 || s->nslots == 1) {
		rc = run_single(s, &s->slots[0]);
		goto out;
	}
	for (size_t i = 1; i < s->nslots; i++) {
		s->slots[i].buf = malloc(SLOT_CHUNKS * SEALED_CHUNK);
		if (!s->slots[i].buf) {
			s->nslots = i;
			break;
		}
	}
	rc = s->nslots > 1 ? run_parallel(s, threads) : run_single(s, &s->slots[0]);
out:
	for (size_t i = 0; i < MAX_SLOTS; i++) {
		if (s->slots[i].buf) {
			sodium_memzero(s->slots[i].buf, SLOT_CHUNKS * SEALED_CHUNK);
			free(s->slots[i].buf);
		}
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->done_cv);
	sodium_memzero(s, sizeof(*s));
	free(s);
	return rc;
}

int age_stream_encrypt(const uint8_t key[32], unsigned threads, struct age_bufreader *in,
                       struct fl_age_writer out)
{
	return stream_run(key, 0, threads, in, out);
}

int age_stream_decrypt(const uint8_t key[32], unsigned threads, struct age_bufreader *in,
                       struct fl_age_writer out)
{
	return stream_run(key, 1, threads, in, out);
}
