/* bench_aead_backends: the measurement behind fleet's AEAD choice for the age payload.
 * Seals 64 KiB chunks (age's STREAM chunk size) with libsodium's and with OpenSSL's
 * ChaCha20-Poly1305 on one core and prints each one's throughput. */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 65536
#define TOTAL (512u << 20)

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double bench_sodium(uint8_t *buf, const uint8_t key[32])
{
	uint8_t nonce[12] = {0};
	double start = now();
	for (size_t done = 0; done < TOTAL; done += CHUNK) {
		nonce[0]++;
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(
		    buf, buf + CHUNK, NULL, buf, CHUNK, NULL, 0, NULL, nonce, key);
	}
	return TOTAL / (now() - start) / 1e9;
}

static double bench_openssl(uint8_t *buf, const uint8_t key[32])
{
	uint8_t nonce[12] = {0};
	int n;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, NULL);
	double start = now();
	for (size_t done = 0; done < TOTAL; done += CHUNK) {
		nonce[0]++;
		EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce);
		EVP_EncryptUpdate(c, buf, &n, buf, CHUNK);
		EVP_EncryptFinal_ex(c, buf + n, &n);
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, buf + CHUNK);
	}
	double gbs = TOTAL / (now() - start) / 1e9;
	EVP_CIPHER_CTX_free(c);
	return gbs;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	uint8_t key[32], *buf = malloc(CHUNK + 16);
	if (!buf)
		return 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(buf, CHUNK);
	double best_sodium = 0, best_openssl = 0;
	for (int i = 0; i < 3; i++) {
		double s = bench_sodium(buf, key), o = bench_openssl(buf, key);
		best_sodium = s > best_sodium ? s : best_sodium;
		best_openssl = o > best_openssl ? o : best_openssl;
	}
	printf("ChaCha20-Poly1305, 64 KiB chunks, one core (best of 3):\n");
	printf("  libsodium %-8s %6.2f GB/s\n", sodium_version_string(), best_sodium);
	printf("  OpenSSL   %-8s %6.2f GB/s   (%.2fx libsodium)\n", OPENSSL_VERSION_STR,
	       best_openssl, best_openssl / best_sodium);
	free(buf);
	return 0;
}
