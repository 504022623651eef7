/*
 * Host tests of the FAT32 core (servers/fat) against real images: made
 * by mkfs.fat, filled by mtools, changed by the core, then checked by
 * fsck.fat -n and by copying every file back out with mcopy.  The big
 * test runs a few thousand random operations against an in-memory model
 * of the tree, with remounts on the way and caches from 4 blocks up.
 * Corrupt images are in test_fat_corrupt.c.
 */
#include "check.h"

#include <dirent.h>

#include "fat_img.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

static struct fat_fs *mount_img(struct img *im, unsigned cache) {
    struct fat_disk disk = img_open(im);
    struct fat_fs *fs = NULL;
    error_t err = fat_mount(&disk, cache, &fs);
    if (err != OK)
        printf("# mount %s: %s\n", im->path, err_name(err));
    return fs;
}

/* Put data on the image as path with mcopy. */
static bool mput(struct img *im, const char *path, const void *data, size_t len) {
    char host[600];
    snprintf(host, sizeof(host), "%s/upload", fat_tmp());
    return host_write_file(host, data, len) && img_mtools(im, "mcopy", "-o '%s' '::%s'", host,
                                                          path) == 0;
}

/* Get path from the image with mcopy; NULL if mcopy fails. */
static uint8_t *mget(struct img *im, const char *path, size_t *len) {
    char host[600];
    snprintf(host, sizeof(host), "%s/download", fat_tmp());
    unlink(host);
    if (img_mtools(im, "mcopy", "-n '::%s' '%s'", path, host) != 0)
        return NULL;
    return host_read_file(host, len);
}

static bool same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    return alen == blen && (alen == 0 || (a && b && memcmp(a, b, alen) == 0));
}

TEST(mount_without_mbr) {
    struct img im;
    CHECK(img_make(&im, "plain.img", 8 * KiB, false, "-n PLAIN"));
    struct fat_fs *fs = mount_img(&im, 16);
    CHECK(fs);
    struct fat_statfs sf;
    CHECK_EQ_INT(fat_statfs(fs, &sf), OK);
    CHECK_EQ_STR(sf.label, "PLAIN");
    CHECK(sf.total_clusters > 1000);
    CHECK_EQ_UINT(sf.free_clusters, sf.total_clusters - 1);
    uint32_t index = 0;
    struct fat_dirent de;
    CHECK_EQ_INT(fat_readdir(fs, "/", &index, &de), ERR_EOF);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
}

TEST(mount_with_mbr) {
    struct img im;
    CHECK(img_make(&im, "mbr.img", 34 * KiB, true, "-n FUMI"));
    CHECK_EQ_INT(img_mtools(&im, "mmd", "::/boot"), 0);
    CHECK(mput(&im, "/boot/kernel.elf", "ELF!", 4));
    struct fat_fs *fs = mount_img(&im, 16);
    CHECK(fs);
    struct fat_statfs sf;
    CHECK_EQ_INT(fat_statfs(fs, &sf), OK);
    CHECK_EQ_STR(sf.label, "FUMI");
    size_t len;
    uint8_t *data = fat_read_all(fs, "/BOOT/Kernel.ELF", &len);
    CHECK(same(data, len, (const uint8_t *) "ELF!", 4));
    free(data);
    CHECK_EQ_INT(fat_write_all(fs, "/boot/grub.cfg", "set timeout=0\n", 14), OK);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
    data = mget(&im, "/boot/grub.cfg", &len);
    CHECK(same(data, len, (const uint8_t *) "set timeout=0\n", 14));
    free(data);
}

/* What the server does when its disk driver restarts: check that the disk
 * behind the new driver is the volume it mounted, then write back the
 * blocks the failed requests left dirty. */
TEST(same_volume_after_the_disk_comes_back) {
    struct img im, copy, other, bigger;
    CHECK(img_make(&im, "same.img", 34 * KiB, true, "-n FUMI -i 12345678"));
    CHECK(img_make(&other, "other.img", 34 * KiB, true, "-n FUMI -i 87654321"));
    CHECK(img_make(&bigger, "bigger.img", 34 * KiB, true, "-n FUMI -i 12345678"));
    CHECK(sh("cp '%s' '%s/copy.img' && truncate -s +512 '%s'", im.path, fat_tmp(),
             bigger.path) == 0);
    img_name(&copy, "copy.img");
    struct fat_fs *fs = mount_img(&im, 4);
    CHECK(fs);
    struct fat_disk d = img_open(&copy);
    CHECK_EQ_INT(fat_same_volume(fs, &d), OK);
    d = img_open(&other);
    CHECK_EQ_INT(fat_same_volume(fs, &d), ERR_NOT_FOUND); /* another serial number */
    d = img_open(&bigger);
    CHECK_EQ_INT(fat_same_volume(fs, &d), ERR_NOT_FOUND); /* another size */
    copy.fail_after = 0;
    d = img_open(&copy);
    CHECK_EQ_INT(fat_same_volume(fs, &d), ERR_IO);

    /* The disk goes away with data in the cache: the sync fails and keeps
     * every dirty block; once the disk is back, the next sync writes them. */
    static uint8_t data[40000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t) (i * 7 + 3);
    CHECK_EQ_INT(fat_write_all(fs, "/kept while away.bin", data, sizeof(data)), OK);
    im.fail_after = 0;
    CHECK_EQ_INT(fat_sync(fs), ERR_IO);
    im.fail_after = 3; /* back for a moment, then away again in the middle */
    CHECK_EQ_INT(fat_sync(fs), ERR_IO);
    im.fail_after = -1;
    CHECK_EQ_INT(fat_sync(fs), OK);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    img_close(&copy);
    img_close(&other);
    img_close(&bigger);
    CHECK(img_fsck_clean(&im));
    size_t len;
    uint8_t *got = mget(&im, "/kept while away.bin", &len);
    CHECK(same(got, len, data, sizeof(data)));
    free(got);
}

TEST(smallest_mkfs_volumes) {
    static const char *opts[] = {"-s 1", "-s 1", "-s 2", "-s 128"};
    static const unsigned sizes[] = {64, 200, 1024, 16 * KiB};
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        struct img im;
        CHECK(img_make(&im, "small.img", sizes[i], false, opts[i]));
        struct fat_fs *fs = mount_img(&im, 4);
        CHECK(fs);
        CHECK_EQ_INT(fat_mkdir(fs, "/d"), OK);
        CHECK_EQ_INT(fat_write_all(fs, "/d/file.bin", "0123456789", 10), OK);
        CHECK_EQ_INT(fat_unmount(fs), OK);
        img_close(&im);
        CHECK(img_fsck_clean(&im));
    }
}

TEST(read_files_mtools_wrote) {
    struct img im;
    CHECK(img_make(&im, "mtools.img", 34 * KiB, false, ""));
    uint8_t *big = malloc(700 * KiB);
    rnd_fill(big, 700 * KiB);
    CHECK_EQ_INT(img_mtools(&im, "mmd", "'::/Dir One' '::/Dir One/sub dir' ::/UPPER"), 0);
    CHECK(mput(&im, "/empty", "", 0));
    CHECK(mput(&im, "/one.byte", "x", 1));
    CHECK(mput(&im, "/hello.txt", "hello\n", 6));
    CHECK(mput(&im, "/A long file name with spaces.text", big, 1000));
    CHECK(mput(&im, "/Dir One/sub dir/deep.bin", big, 700 * KiB));
    CHECK(mput(&im, "/UPPER/README.TXT", big + 5, 513));
    struct fat_fs *fs = mount_img(&im, 8);
    CHECK(fs);
    size_t len;
    uint8_t *d;
    CHECK((d = fat_read_all(fs, "/empty", &len)) && len == 0);
    free(d);
    CHECK((d = fat_read_all(fs, "/one.byte", &len)) && same(d, len, (const uint8_t *) "x", 1));
    free(d);
    CHECK((d = fat_read_all(fs, "/HELLO.TXT", &len)) && same(d, len, (const uint8_t *) "hello\n", 6));
    free(d);
    CHECK((d = fat_read_all(fs, "/a LONG file name with spaces.text", &len)) &&
          same(d, len, big, 1000));
    free(d);
    CHECK((d = fat_read_all(fs, "/dir one/./sub dir/../sub dir/deep.bin", &len)) &&
          same(d, len, big, 700 * KiB));
    free(d);
    CHECK((d = fat_read_all(fs, "/upper/readme.txt", &len)) && same(d, len, big + 5, 513));
    free(d);
    /* Names come back as mtools stored them: long names, or short ones in their case. */
    const char *want[] = {"Dir One", "UPPER", "empty", "one.byte", "hello.txt",
                          "A long file name with spaces.text"};
    uint32_t index = 0, n = 0;
    struct fat_dirent de;
    while (fat_readdir(fs, "/", &index, &de) == OK) {
        CHECK(n < ARRAY_SIZE(want));
        CHECK_EQ_STR(de.name, want[n]);
        n++;
    }
    CHECK_EQ_INT(n, ARRAY_SIZE(want));
    struct fat_stat st;
    CHECK_EQ_INT(fat_stat(fs, "/Dir One/sub dir/deep.bin", &st), OK);
    CHECK_EQ_UINT(st.size, 700 * KiB);
    CHECK(!st.is_dir);
    CHECK_EQ_INT(fat_stat(fs, "/Dir One", &st), OK);
    CHECK(st.is_dir);
    CHECK_EQ_INT(fat_stat(fs, "/nothing", &st), ERR_NOT_FOUND);
    CHECK_EQ_INT(fat_stat(fs, "/hello.txt/x", &st), ERR_NOT_DIR);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    free(big);
}

TEST(short_names_and_unicode) {
    struct img im;
    CHECK(img_make(&im, "names.img", 34 * KiB, false, ""));
    struct fat_fs *fs = mount_img(&im, 8);
    CHECK(fs);
    const char *names[] = {"README.TXT", "readme2.txt", "Mixed.Case", "long name file.txt",
                           "long name file.txt2", "long name filf.txt", "LONGNA~1.TXT2",
                           ".hidden", "a.b.c.d", "naïve café ☕.txt", "emoji 😀.bin", "+,;=[]"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char path[300];
        snprintf(path, sizeof(path), "/%s", names[i]);
        CHECK_EQ_INT(fat_write_all(fs, path, names[i], strlen(names[i])), OK);
    }
    struct fat_file *f;
    CHECK_EQ_INT(fat_open(fs, "/README.txt", FAT_OPEN_CREATE | FAT_OPEN_EXCL, &f), ERR_ALREADY_EXISTS);
    CHECK_EQ_INT(fat_open(fs, "/bad:name", FAT_OPEN_CREATE, &f), ERR_INVALID_ARG);
    CHECK_EQ_INT(fat_open(fs, "/trailing.", FAT_OPEN_CREATE, &f), ERR_INVALID_ARG);
    CHECK_EQ_INT(fat_open(fs, "/bad\xff", FAT_OPEN_CREATE, &f), ERR_INVALID_ARG);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    fs = mount_img(&im, 8);
    CHECK(fs);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char path[300];
        size_t len;
        snprintf(path, sizeof(path), "/%s", names[i]);
        uint8_t *d = fat_read_all(fs, path, &len);
        CHECK(same(d, len, (const uint8_t *) names[i], strlen(names[i])));
        free(d);
    }
    uint32_t index = 0, n = 0;
    struct fat_dirent de;
    while (fat_readdir(fs, "/", &index, &de) == OK)
        CHECK_EQ_STR(de.name, names[n++]);
    CHECK_EQ_INT(n, ARRAY_SIZE(names));
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
    size_t len;
    uint8_t *d = mget(&im, "/long name filf.txt", &len);
    CHECK(same(d, len, (const uint8_t *) "long name filf.txt", 18));
    free(d);
    /* mtools shows the time stamps the core wrote (img_now). */
    CHECK_EQ_INT(img_mtools(&im, "mdir", "::/ | grep -q 'README   TXT .*2024-05-06   7:08'"), 0);
}

TEST(large_directory) {
    struct img im;
    CHECK(img_make(&im, "bigdir.img", 34 * KiB, false, "-s 1"));
    struct fat_fs *fs = mount_img(&im, 6);
    CHECK(fs);
    CHECK_EQ_INT(fat_mkdir(fs, "/many"), OK);
    for (int i = 0; i < 400; i++) {
        char path[100];
        snprintf(path, sizeof(path), "/many/a file with a long name %03d.txt", i);
        CHECK_EQ_INT(fat_write_all(fs, path, path, (size_t) i % 7), OK);
    }
    for (int i = 0; i < 400; i += 3) {
        char path[100];
        snprintf(path, sizeof(path), "/many/a file with a long name %03d.txt", i);
        CHECK_EQ_INT(fat_unlink(fs, path), OK);
    }
    for (int i = 0; i < 50; i++) { /* reuse the freed slots */
        char path[100];
        snprintf(path, sizeof(path), "/many/B%d", i);
        CHECK_EQ_INT(fat_write_all(fs, path, "b", 1), OK);
    }
    struct fat_stat st;
    CHECK_EQ_INT(fat_stat(fs, "/many", &st), OK);
    CHECK(st.clusters > 20);
    uint32_t index = 0, n = 0;
    struct fat_dirent de;
    while (fat_readdir(fs, "/many", &index, &de) == OK)
        n++;
    CHECK_EQ_INT(n, 400 - 134 + 50);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
    size_t len;
    uint8_t *d = mget(&im, "/many/a file with a long name 398.txt", &len);
    CHECK(same(d, len, (const uint8_t *) "/many/a file with a long name 398.txt", 398 % 7));
    free(d);
}

TEST(open_files_are_shared) {
    struct img im;
    CHECK(img_make(&im, "open.img", 4 * KiB, false, ""));
    struct fat_fs *fs = mount_img(&im, 8);
    CHECK(fs);
    struct fat_file *a, *b, *d;
    CHECK_EQ_INT(fat_open(fs, "/f", FAT_OPEN_CREATE, &a), OK);
    CHECK_EQ_INT(fat_open(fs, "/F", 0, &b), OK);
    CHECK(a == b);
    size_t n;
    CHECK_EQ_INT(fat_write(fs, a, 0, "abc", 3, &n), OK);
    CHECK_EQ_UINT(fat_file_size(b), 3);
    CHECK_EQ_INT(fat_unlink(fs, "/f"), ERR_IN_USE);
    CHECK_EQ_INT(fat_rename(fs, "/f", "/g"), ERR_IN_USE);
    fat_close(fs, a);
    CHECK_EQ_INT(fat_unlink(fs, "/f"), ERR_IN_USE);
    fat_close(fs, b);
    CHECK_EQ_INT(fat_mkdir(fs, "/dir"), OK);
    CHECK_EQ_INT(fat_open(fs, "/dir", FAT_OPEN_DIR, &d), OK);
    CHECK(fat_file_is_dir(d));
    CHECK_EQ_INT(fat_read(fs, d, 0, &n, 1, &n), ERR_IS_DIR);
    CHECK_EQ_INT(fat_rmdir(fs, "/dir"), ERR_IN_USE);
    fat_close(fs, d);
    CHECK_EQ_INT(fat_open(fs, "/f", FAT_OPEN_DIR, &d), ERR_NOT_DIR);
    CHECK_EQ_INT(fat_open(fs, "/dir", FAT_OPEN_TRUNCATE, &d), ERR_IS_DIR);
    CHECK_EQ_INT(fat_open(fs, "/", FAT_OPEN_DIR, &d), OK);
    fat_close(fs, d);
    CHECK_EQ_INT(fat_rmdir(fs, "/dir"), OK);
    CHECK_EQ_INT(fat_unlink(fs, "/f"), OK);
    CHECK_EQ_INT(fat_open(fs, "/f", 0, &a), ERR_NOT_FOUND);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
}

TEST(dir_rules) {
    struct img im;
    CHECK(img_make(&im, "rules.img", 34 * KiB, false, ""));
    struct fat_fs *fs = mount_img(&im, 8);
    CHECK(fs);
    CHECK_EQ_INT(fat_mkdir(fs, "/a"), OK);
    CHECK_EQ_INT(fat_mkdir(fs, "/a/b"), OK);
    CHECK_EQ_INT(fat_mkdir(fs, "/a/b/c"), OK);
    CHECK_EQ_INT(fat_mkdir(fs, "/A"), ERR_ALREADY_EXISTS);
    CHECK_EQ_INT(fat_mkdir(fs, "/"), ERR_ALREADY_EXISTS);
    CHECK_EQ_INT(fat_mkdir(fs, "/x/y"), ERR_NOT_FOUND);
    CHECK_EQ_INT(fat_write_all(fs, "/a/b/file", "data", 4), OK);
    CHECK_EQ_INT(fat_write_all(fs, "/other", "other", 5), OK);
    CHECK_EQ_INT(fat_rmdir(fs, "/a"), ERR_NOT_EMPTY);
    CHECK_EQ_INT(fat_rmdir(fs, "/"), ERR_INVALID_ARG);
    CHECK_EQ_INT(fat_rmdir(fs, "/other"), ERR_NOT_DIR);
    CHECK_EQ_INT(fat_unlink(fs, "/a"), ERR_IS_DIR);
    CHECK_EQ_INT(fat_rename(fs, "/a", "/a/b/c/a"), ERR_LOOP);
    CHECK_EQ_INT(fat_rename(fs, "/a", "/a/new"), ERR_LOOP);
    CHECK_EQ_INT(fat_rename(fs, "/a/b", "/other"), ERR_NOT_DIR);
    CHECK_EQ_INT(fat_rename(fs, "/other", "/a/b"), ERR_IS_DIR);
    CHECK_EQ_INT(fat_rename(fs, "/", "/z"), ERR_INVALID_ARG);
    CHECK_EQ_INT(fat_rename(fs, "/nope", "/z"), ERR_NOT_FOUND);
    /* Move a directory up, replace a file, change a name's case. */
    CHECK_EQ_INT(fat_rename(fs, "/a/b/c", "/c moved"), OK);
    CHECK_EQ_INT(fat_rename(fs, "/a/b", "/c moved/b"), OK);
    CHECK_EQ_INT(fat_rename(fs, "/other", "/c moved/b/file"), OK);
    CHECK_EQ_INT(fat_rename(fs, "/c moved", "/C MOVED"), OK);
    CHECK_EQ_INT(fat_rename(fs, "/C MOVED", "/C MOVED"), OK);
    size_t len;
    uint8_t *d = fat_read_all(fs, "/c moved/b/file", &len);
    CHECK(same(d, len, (const uint8_t *) "other", 5));
    free(d);
    uint32_t index = 0;
    struct fat_dirent de;
    CHECK_EQ_INT(fat_readdir(fs, "/", &index, &de), OK);
    CHECK_EQ_STR(de.name, "a");
    CHECK_EQ_INT(fat_readdir(fs, "/", &index, &de), OK);
    CHECK_EQ_STR(de.name, "C MOVED");
    CHECK_EQ_INT(fat_readdir(fs, "/", &index, &de), ERR_EOF);
    CHECK_EQ_INT(fat_rmdir(fs, "/a"), OK);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
    d = mget(&im, "/C MOVED/b/file", &len);
    CHECK(same(d, len, (const uint8_t *) "other", 5));
    free(d);
}

TEST(sparse_truncate_and_limits) {
    struct img im;
    CHECK(img_make(&im, "sparse.img", 8 * KiB, false, "-s 8"));
    struct fat_fs *fs = mount_img(&im, 8);
    CHECK(fs);
    struct fat_file *f;
    size_t n;
    CHECK_EQ_INT(fat_open(fs, "/s", FAT_OPEN_CREATE, &f), OK);
    CHECK_EQ_INT(fat_write(fs, f, 10000, "end", 3, &n), OK);
    CHECK_EQ_UINT(fat_file_size(f), 10003);
    uint8_t buf[10003];
    CHECK_EQ_INT(fat_read(fs, f, 0, buf, sizeof(buf), &n), OK);
    CHECK_EQ_UINT(n, 10003);
    for (int i = 0; i < 10000; i++)
        CHECK_EQ_UINT(buf[i], 0);
    CHECK_EQ_INT(memcmp(buf + 10000, "end", 3), 0);
    CHECK_EQ_INT(fat_read(fs, f, 10003, buf, 1, &n), OK);
    CHECK_EQ_UINT(n, 0);
    CHECK_EQ_INT(fat_truncate(fs, f, 5), OK);
    CHECK_EQ_INT(fat_truncate(fs, f, 9000), OK);
    CHECK_EQ_INT(fat_read(fs, f, 0, buf, sizeof(buf), &n), OK);
    CHECK_EQ_UINT(n, 9000);
    for (int i = 0; i < 9000; i++)
        CHECK_EQ_UINT(buf[i], 0);
    CHECK_EQ_INT(fat_write(fs, f, 0xFFFFFFFFull, "x", 1, &n), ERR_TOO_LARGE);
    CHECK_EQ_INT(fat_write(fs, f, 0xFFFFFFF0ull, "x", 1, &n), ERR_NO_SPACE);
    CHECK_EQ_UINT(fat_file_size(f), 9000);
    CHECK_EQ_INT(fat_truncate(fs, f, 0x100000000ull), ERR_TOO_LARGE);
    CHECK_EQ_INT(fat_truncate(fs, f, 0), OK);
    struct fat_stat st;
    CHECK_EQ_INT(fat_stat(fs, "/s", &st), OK);
    CHECK_EQ_UINT(st.size, 0);
    CHECK_EQ_UINT(st.clusters, 0);
    CHECK_EQ_UINT(st.mtime, img_now(NULL));
    fat_close(fs, f);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
}

TEST(full_disk) {
    struct img im;
    CHECK(img_make(&im, "full.img", 34 * KiB, false, "-s 1"));
    struct fat_fs *fs = mount_img(&im, 4);
    CHECK(fs);
    static uint8_t chunk[100 * KiB];
    rnd_fill(chunk, sizeof(chunk));
    struct fat_file *f;
    size_t n;
    int files = 0;
    error_t err = OK;
    CHECK_EQ_INT(fat_mkdir(fs, "/d"), OK);
    while (err == OK && files < 100) {
        char path[64];
        snprintf(path, sizeof(path), "/d/file number %d", files++);
        err = fat_open(fs, path, FAT_OPEN_CREATE, &f);
        if (err != OK)
            break;
        uint64_t before = 0;
        for (int i = 0; err == OK && i < 8; i++) {
            before = fat_file_size(f);
            err = fat_write(fs, f, before, chunk, sizeof(chunk), &n);
        }
        if (err != OK)
            CHECK_EQ_UINT(fat_file_size(f), before);
        fat_close(fs, f);
    }
    CHECK_EQ_INT(err, ERR_NO_SPACE);
    struct fat_statfs sf;
    CHECK_EQ_INT(fat_statfs(fs, &sf), OK);
    CHECK(sf.free_clusters * sf.cluster_size < sizeof(chunk));
    /* Fill the last clusters, then even a new directory fails cleanly. */
    CHECK_EQ_INT(fat_open(fs, "/last", FAT_OPEN_CREATE, &f), OK);
    err = fat_write(fs, f, 0, chunk, sf.free_clusters * sf.cluster_size, &n);
    CHECK_EQ_INT(err, OK);
    CHECK_EQ_INT(fat_write(fs, f, fat_file_size(f), "x", 1, &n), ERR_NO_SPACE);
    fat_close(fs, f);
    CHECK_EQ_INT(fat_mkdir(fs, "/no room"), ERR_NO_SPACE);
    CHECK_EQ_INT(fat_statfs(fs, &sf), OK);
    CHECK_EQ_UINT(sf.free_clusters, 0);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
    fs = mount_img(&im, 4); /* frees space again, FSInfo count must agree */
    CHECK(fs);
    CHECK_EQ_INT(fat_unlink(fs, "/last"), OK);
    CHECK_EQ_INT(fat_unlink(fs, "/d/file number 0"), OK);
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
    size_t len;
    uint8_t *d = mget(&im, "/d/file number 1", &len);
    CHECK(d && len == 8 * sizeof(chunk));
    free(d);
}

TEST(io_errors_are_reported) {
    struct img im;
    CHECK(img_make(&im, "ioerr.img", 4 * KiB, false, ""));
    for (long fail = 0; fail < 40; fail += 3) {
        struct fat_disk disk = img_open(&im);
        struct fat_fs *fs = NULL;
        im.fail_after = fail;
        error_t err = fat_mount(&disk, 2, &fs);
        if (err == OK) {
            static uint8_t data[20000];
            char path[32];
            snprintf(path, sizeof(path), "/d%ld", fail);
            err = fat_mkdir(fs, path);
            strcat(path, "/f");
            if (err == OK)
                err = fat_write_all(fs, path, data, sizeof(data));
            fat_unmount(fs);
        }
        CHECK(err == OK || err == ERR_IO);
        im.fail_after = -1;
    }
    img_close(&im);
}

/* ---- the random model test ---------------------------------------------- */

#define MAX_NODES 3000

struct node {
    char path[400];
    bool dir, live;
    uint8_t *data;
    size_t size;
};

static struct node nodes[MAX_NODES];
static int nnodes;
static unsigned name_counter;

static void model_reset(void) {
    for (int i = 0; i < nnodes; i++)
        free(nodes[i].data);
    nnodes = 0;
}

static struct node *model_add(const char *path, bool dir) {
    if (nnodes == MAX_NODES)
        return NULL;
    struct node *n = &nodes[nnodes++];
    memset(n, 0, sizeof(*n));
    snprintf(n->path, sizeof(n->path), "%s", path);
    n->dir = dir;
    n->live = true;
    return n;
}

/* A random live node (dir or file as asked); NULL if there is none. The
 * root ("") counts as a directory. */
static struct node *model_pick(bool dir) {
    static struct node root = {.path = "", .dir = true, .live = true};
    int count = dir ? 1 : 0;
    for (int i = 0; i < nnodes; i++)
        count += nodes[i].live && nodes[i].dir == dir;
    if (count == 0)
        return NULL;
    int k = (int) rnd_below((uint32_t) count);
    if (dir && k-- == 0)
        return &root;
    for (int i = 0; i < nnodes; i++) {
        if (nodes[i].live && nodes[i].dir == dir && k-- == 0)
            return &nodes[i];
    }
    return NULL;
}

static bool is_under(const char *path, const char *dir) {
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static int model_children(const char *dir) {
    int count = 0;
    for (int i = 0; i < nnodes; i++) {
        const char *p = nodes[i].path;
        count += nodes[i].live && is_under(p, dir) && !strchr(p + strlen(dir) + 1, '/');
    }
    return count;
}

static void gen_name(char *out, size_t n) {
    unsigned id = name_counter++;
    switch (rnd_below(7)) {
    case 0: snprintf(out, n, "F%u.TXT", id); break;
    case 1: snprintf(out, n, "f%u.txt", id); break;
    case 2: snprintf(out, n, "Long file name number %u.data", id); break;
    case 3: snprintf(out, n, "many.dots.%u.tar.gz", id); break;
    case 4: snprintf(out, n, "x%u", id); break;
    case 5: snprintf(out, n, "odd+chars,%u;=[x] ", id); out[strlen(out) - 1] = 'y'; break;
    default:
        snprintf(out, n, "%u a very long name with many characters so that it needs several "
                 "long name entries abcdefghijklmnopqrstuvwxyz", id);
        break;
    }
}

static size_t gen_size(unsigned max_big) {
    uint32_t r = rnd_below(100);
    return r < 10 ? rnd_below(3) : r < 65 ? rnd_below(4096) : r < 95 ? rnd_below(65536)
                                                             : rnd_below(max_big);
}

/* Write buf to f at offset in 1..3 calls, mirroring into the node. */
static error_t model_write(struct fat_fs *fs, struct fat_file *f, struct node *nd, size_t offset,
                           size_t len) {
    uint8_t *buf = malloc(len + 1);
    rnd_fill(buf, len);
    size_t done = 0;
    error_t err = OK;
    while (err == OK && done < len) {
        size_t part = rnd_below(3) == 0 ? len - done : 1 + rnd_below((uint32_t) (len - done));
        size_t n;
        err = fat_write(fs, f, offset + done, buf + done, part, &n);
        if (err == OK) {
            size_t end = offset + done + part;
            if (end > nd->size) {
                nd->data = realloc(nd->data, end);
                memset(nd->data + nd->size, 0, end - nd->size);
                nd->size = end;
            }
            memcpy(nd->data + offset + done, buf + done, part);
            done += part;
        }
    }
    free(buf);
    return err;
}

static void copy_path(char dst[400], const char *src) {
    size_t n = strlen(src) < 399 ? strlen(src) : 399;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void path_join(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

/* One random operation, mirrored in the model; its error (printed). */
static error_t random_op(struct fat_fs *fs, unsigned max_big) {
    char name[200], path[600];
    struct fat_file *f;
    uint32_t op = rnd_below(100);
    struct node *nd = model_pick(false), *dir = model_pick(true);
    error_t err = OK;
    if (op < 30 || !nd) { /* create */
        gen_name(name, sizeof(name));
        path_join(path, sizeof(path), dir->path, name);
        if (strlen(path) >= 390 || nnodes == MAX_NODES)
            return OK;
        err = fat_open(fs, path, FAT_OPEN_CREATE | FAT_OPEN_EXCL, &f);
        if (err != OK)
            goto fail;
        nd = model_add(path, false);
        err = model_write(fs, f, nd, 0, gen_size(max_big));
        fat_close(fs, f);
    } else if (op < 40) { /* mkdir */
        gen_name(name, sizeof(name));
        path_join(path, sizeof(path), dir->path, name);
        if (strlen(path) >= 300 || nnodes == MAX_NODES)
            return OK;
        err = fat_mkdir(fs, path);
        if (err == OK)
            model_add(path, true);
    } else if (op < 55) { /* overwrite / extend / sparse */
        snprintf(path, sizeof(path), "%s", nd->path);
        err = fat_open(fs, path, 0, &f);
        if (err != OK)
            goto fail;
        size_t at = rnd_below((uint32_t) nd->size + (rnd_below(4) ? 1 : 70000));
        err = model_write(fs, f, nd, at, gen_size(max_big / 4));
        if (err == OK && fat_file_size(f) != nd->size) {
            printf("# size of %s: %llu != %zu\n", path, (unsigned long long) fat_file_size(f),
                   nd->size);
            err = ERR_UNEXPECTED;
        }
        fat_close(fs, f);
    } else if (op < 62) { /* truncate */
        size_t size = rnd_below(2) ? rnd_below((uint32_t) nd->size + 1) : nd->size + rnd_below(50000);
        snprintf(path, sizeof(path), "%s", nd->path);
        err = fat_open(fs, path, 0, &f);
        if (err != OK)
            goto fail;
        err = fat_truncate(fs, f, size);
        fat_close(fs, f);
        if (err == OK) {
            nd->data = realloc(nd->data, size + 1);
            if (size > nd->size)
                memset(nd->data + nd->size, 0, size - nd->size);
            nd->size = size;
        }
    } else if (op < 72) { /* rename a file, maybe over another */
        struct node *victim = rnd_below(4) == 0 ? model_pick(false) : NULL;
        if (victim && victim != nd) {
            snprintf(path, sizeof(path), "%s", victim->path);
        } else {
            victim = NULL;
            gen_name(name, sizeof(name));
            path_join(path, sizeof(path), dir->path, name);
            if (strlen(path) >= 390)
                return OK;
        }
        err = fat_rename(fs, nd->path, path);
        if (err == OK) {
            if (victim)
                victim->live = false;
            copy_path(nd->path, path);
        }
    } else if (op < 77) { /* rename a directory somewhere not inside itself */
        struct node *d = model_pick(true);
        if (!d->path[0] || is_under(dir->path, d->path) || dir == d)
            return OK;
        gen_name(name, sizeof(name));
        path_join(path, sizeof(path), dir->path, name);
        size_t old_len = strlen(d->path);
        for (int i = 0; i < nnodes; i++) {
            if (nodes[i].live && is_under(nodes[i].path, d->path) &&
                strlen(path) + strlen(nodes[i].path) - old_len >= 390)
                return OK;
        }
        err = fat_rename(fs, d->path, path);
        if (err == OK) {
            char old[400];
            snprintf(old, sizeof(old), "%s", d->path);
            for (int i = 0; i < nnodes; i++) {
                if (nodes[i].live && (is_under(nodes[i].path, old) || &nodes[i] == d)) {
                    char tmp[800];
                    snprintf(tmp, sizeof(tmp), "%s%s", path, nodes[i].path + old_len);
                    copy_path(nodes[i].path, tmp);
                }
            }
        }
    } else if (op < 90) { /* unlink */
        err = fat_unlink(fs, nd->path);
        if (err == OK)
            nd->live = false;
    } else if (op < 96) { /* rmdir, which must fail on a non-empty directory */
        if (!dir->path[0])
            return OK;
        err = fat_rmdir(fs, dir->path);
        bool empty = model_children(dir->path) == 0;
        if (err == OK && empty)
            dir->live = false;
        else if (err == ERR_NOT_EMPTY && !empty)
            err = OK;
        else
            err = ERR_UNEXPECTED;
    } else { /* read back a file */
        size_t len;
        uint8_t *d = fat_read_all(fs, nd->path, &len);
        if (!d || !same(d, len, nd->data, nd->size)) {
            size_t at = 0;
            while (d && at < len && at < nd->size && d[at] == nd->data[at])
                at++;
            printf("# read back %s: %zu bytes, model %zu, first difference at %zu\n", nd->path,
                   d ? len : 0, nd->size, at);
            err = ERR_UNEXPECTED;
        }
        free(d);
    }
    if (err == OK)
        return OK;
fail:
    if (err != ERR_NO_SPACE)
        printf("# op %u on %s: %s\n", op, nd ? nd->path : "-", err_name(err));
    return err;
}

/* Every file reads back through the core; every directory has its entries. */
static bool verify_core(struct fat_fs *fs) {
    for (int i = 0; i < nnodes; i++) {
        struct node *nd = &nodes[i];
        if (!nd->live)
            continue;
        if (nd->dir) {
            uint32_t index = 0;
            int count = 0;
            struct fat_dirent de;
            while (fat_readdir(fs, nd->path, &index, &de) == OK)
                count++;
            if (count != model_children(nd->path)) {
                printf("# %s: %d entries, model %d\n", nd->path, count, model_children(nd->path));
                return false;
            }
            continue;
        }
        size_t len;
        uint8_t *d = fat_read_all(fs, nd->path, &len);
        bool ok = d && same(d, len, nd->data, nd->size);
        free(d);
        if (!ok) {
            printf("# %s differs (core)\n", nd->path);
            return false;
        }
    }
    return true;
}

/* Entries below host directory path (recursively). */
static int host_count(const char *path) {
    DIR *d = opendir(path);
    int count = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[1200];
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        count += 1 + (de->d_type == DT_DIR ? host_count(sub) : 0);
    }
    if (d)
        closedir(d);
    return count;
}

/* mcopy the whole tree out and compare it with the model. */
static bool verify_host(struct img *im) {
    char out[300];
    snprintf(out, sizeof(out), "%s/out", fat_tmp());
    sh("rm -rf '%s' && mkdir '%s'", out, out);
    img_mtools(im, "mcopy", "-s '::/*' '%s/'", out);
    int live = 0;
    for (int i = 0; i < nnodes; i++) {
        struct node *nd = &nodes[i];
        if (!nd->live)
            continue;
        live++;
        char host[1000];
        snprintf(host, sizeof(host), "%s%s", out, nd->path);
        struct stat st;
        if (stat(host, &st) != 0 || S_ISDIR(st.st_mode) != nd->dir) {
            printf("# %s missing on the host\n", nd->path);
            return false;
        }
        size_t len;
        uint8_t *d = nd->dir ? NULL : host_read_file(host, &len);
        bool ok = nd->dir || (d && same(d, len, nd->data, nd->size));
        free(d);
        if (!ok) {
            printf("# %s differs (mcopy)\n", nd->path);
            return false;
        }
    }
    int found = host_count(out);
    if (found != live)
        printf("# host has %d entries, model %d\n", found, live);
    return found == live;
}

static void random_run(const char *name, unsigned size_kb, bool mbr, const char *mkfs,
                       unsigned cache, int ops, unsigned max_big) {
    struct img im;
    model_reset();
    CHECK(img_make(&im, name, size_kb, mbr, mkfs));
    struct fat_fs *fs = mount_img(&im, cache);
    CHECK(fs);
    for (int i = 0; i < ops; i++) {
        CHECK_EQ_INT(random_op(fs, max_big), OK);
        if (rnd_below(200) == 0) {
            CHECK_EQ_INT(fat_unmount(fs), OK);
            CHECK((fs = mount_img(&im, cache)));
        } else if (rnd_below(100) == 0) {
            CHECK_EQ_INT(fat_sync(fs), OK);
        }
    }
    CHECK(verify_core(fs));
    CHECK_EQ_INT(fat_unmount(fs), OK);
    CHECK((fs = mount_img(&im, cache)));
    CHECK(verify_core(fs));
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
    CHECK(verify_host(&im));
    int live = 0;
    for (int i = 0; i < nnodes; i++)
        live += nodes[i].live;
    printf("# %s: %d ops, %d files and directories at the end\n", name, ops, live);
}

TEST(random_model_512b_clusters_mbr) {
    random_run("rand1.img", 96 * KiB, true, "-s 1", 64, 2500, 3 * MiB);
}

TEST(random_model_4k_clusters) {
    random_run("rand2.img", 300 * KiB, false, "-s 8", 32, 2000, 3 * MiB);
}

TEST(random_model_tiny_cache) {
    random_run("rand3.img", 34 * KiB, false, "-s 1", 4, 1200, 512 * KiB);
}

TEST(random_model_nearly_full) {
    struct img im;
    model_reset();
    CHECK(img_make(&im, "rand4.img", 34 * KiB, false, "-s 1"));
    struct fat_fs *fs = mount_img(&im, 8);
    CHECK(fs);
    int no_space = 0;
    for (int i = 0; i < 1500; i++) {
        /* Running out of space is allowed, and must leave everything as it was. */
        error_t err = random_op(fs, 8 * MiB);
        CHECK(err == OK || err == ERR_NO_SPACE);
        no_space += err == ERR_NO_SPACE;
    }
    printf("# nearly full: %d operations ran out of space\n", no_space);
    CHECK(no_space > 10);
    CHECK(verify_core(fs));
    CHECK_EQ_INT(fat_unmount(fs), OK);
    img_close(&im);
    CHECK(img_fsck_clean(&im));
    CHECK(verify_host(&im));
}
