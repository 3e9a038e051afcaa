/* POSIX shared memory and named semaphores: writable MAP_SHARED mappings of
 * files in /dev/shm (shm_open, sem_open). A forked child and an unrelated
 * mapping of the same file (shm_open again) see each other's writes; msync,
 * munmap and exit leave the bytes in the file for read() and for the next
 * mapping; a named semaphore opened by name in a child wakes its parent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define SIZE 8192

static char name[64];

static int wait_child(pid_t pid)
{
	int st;
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *map(int fd)
{
	char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(name, sizeof name, "/nommu-conf-shm-%d", (int)getpid());
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	check(fd >= 0, "shm_open(O_CREAT | O_EXCL)");
	check(ftruncate(fd, SIZE) == 0, "ftruncate to two pages");
	char *p = map(fd);
	check(p != NULL, "mmap(MAP_SHARED, PROT_READ | PROT_WRITE)");
	if (!p)
		return 1;
	check(p[0] == 0 && p[SIZE - 1] == 0, "a fresh object reads as zeros");

	/* A forked child writes through the mapping it inherited. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		strcpy(p, "from the child");
		p[SIZE - 1] = 'z';
		_exit(0);
	}
	check(wait_child(pid) == 0 && strcmp(p, "from the child") == 0 && p[SIZE - 1] == 'z', "a forked child's writes show in the parent");

	/* A second mapping of the same object in this process: the same bytes. */
	char *q = map(fd);
	check(q != NULL && strcmp(q, "from the child") == 0, "a second mapping sees the first's bytes");
	strcpy(q + 100, "via q");
	check(strcmp(p + 100, "via q") == 0, "and writes through it show in the first");
	check(munmap(q, SIZE) == 0, "munmap the second mapping");

	/* An unrelated mapping: the child opens the object by name and maps it afresh. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		munmap(p, SIZE);
		int cfd = shm_open(name, O_RDWR, 0);
		char *c = cfd >= 0 ? map(cfd) : NULL;
		if (!c || strcmp(c, "from the child") != 0)
			_exit(1);
		strcpy(c + 200, "by name");
		_exit(0);
	}
	check(wait_child(pid) == 0, "a child that opens the object by name sees its bytes");
	check(strcmp(p + 200, "by name") == 0, "and its writes show in the parent");

	/* msync: the file holds the mapping's bytes for read(). */
	strcpy(p + 300, "synced");
	check(msync(p, SIZE, MS_SYNC) == 0, "msync");
	char buf[16] = "";
	check(pread(fd, buf, 7, 300) == 7 && strcmp(buf, "synced") == 0, "pread after msync reads the mapping's bytes");

	/* munmap, then a new mapping: the bytes are still there. */
	strcpy(p + 400, "kept");
	check(munmap(p, SIZE) == 0, "munmap the last mapping");
	memset(buf, 0, sizeof buf);
	check(pread(fd, buf, 5, 400) == 5 && strcmp(buf, "kept") == 0, "pread after munmap reads them");
	p = map(fd);
	check(p != NULL && strcmp(p + 400, "kept") == 0 && strcmp(p, "from the child") == 0, "a new mapping reads them");
	check(munmap(p, SIZE) == 0, "munmap again");

	/* A child maps, writes and exits without unmapping: the file has its bytes. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *c = map(fd);
		if (!c)
			_exit(1);
		strcpy(c + 500, "at exit");
		_exit(0);
	}
	check(wait_child(pid) == 0, "a child maps, writes and exits");
	memset(buf, 0, sizeof buf);
	check(pread(fd, buf, 8, 500) == 8 && strcmp(buf, "at exit") == 0, "the file has what it wrote");
	close(fd);
	check(shm_unlink(name) == 0, "shm_unlink");
	check(shm_open(name, O_RDWR, 0) == -1 && errno == ENOENT, "the name is gone");

	/* A named semaphore: the child opens it by name and posts; the parent's wait returns. */
	char sname[64];
	snprintf(sname, sizeof sname, "/nommu-conf-sem-%d", (int)getpid());
	sem_t *s = sem_open(sname, O_CREAT | O_EXCL, 0600, 0);
	check(s != SEM_FAILED, "sem_open(O_CREAT, value 0)");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		sem_t *cs = sem_open(sname, 0);
		if (cs == SEM_FAILED || sem_post(cs) != 0)
			_exit(1);
		_exit(0);
	}
	check(sem_wait(s) == 0, "sem_wait returns once the child posted");
	check(wait_child(pid) == 0, "the child opened the semaphore by name");
	int v = -1;
	check(sem_getvalue(s, &v) == 0 && v == 0, "the value is 0 again");
	check(sem_post(s) == 0 && sem_getvalue(s, &v) == 0 && v == 1, "sem_post: 1");
	check(sem_close(s) == 0 && sem_unlink(sname) == 0, "sem_close, sem_unlink");

	if (failures) {
		printf("shm_shared: %d failures\n", failures);
		return 1;
	}
	printf("shm_shared ok\n");
	return 0;
}
