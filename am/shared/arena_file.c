/*
 * arena_file.c: the memory the arena lives in, and the trees it keeps across a clean restart.
 *
 * Loading every tree again from the sidecar after a restart takes seconds per 10M entries;
 * btree answers at once. So a clean shutdown writes the arena to an image file, and the next
 * start reads it back to the same address, where the raw pointers inside it are valid again.
 * The sidecar worker then takes the trees the image lists into the registry instead of
 * loading them from RocksDB.
 *
 * The arena is a memfd, mapped shared by the postmaster before it forks (a memfd can say which
 * of its pages were ever written: SEEK_DATA). The image, pg_alexidx/pgsql_tmp_arena (base
 * backups and pg_rewind skip pgsql_tmp names), holds only those pages. The postmaster writes
 * it when it exits after a clean shutdown, once every other process is gone and the shutdown
 * checkpoint is written: the pages, an fsync, then the header that seals it, another fsync.
 * The next postmaster checks the image's header and maps the image itself, read-only, at its
 * address (the memfd's place); every process it forks inherits that. The sidecar worker checks
 * the trees against the sidecar and registers them: they answer at once, read from the image
 * (faulted in as touched, mostly from the page cache), however large the arena. Then the
 * worker copies the image into the memfd (sendfile, no page faults) and says so
 * (arena_in_memfd); each process maps the memfd over the image before it next reads a tree,
 * and changes wait until then (alexidx_arena_wait_writable). A reader that read the image
 * did so under its tree's lock, so once the worker has taken each tree's lock after the
 * copy nobody touches the image again, and the worker empties it (its name went when the
 * worker took it).
 *
 * Reads never see a stale tree: the copy equals the image (nothing changes before it is
 * done), and a process maps the copy after taking a tree's lock, which any change since
 * the copy was taken under. A stray write into the read-only image faults at once instead of
 * changing one process's view.
 *
 * Why a sealed image is exact. On a primary a tree changes only together with the WAL record
 * of the change, under the tree's lock (insert.c, vacuum.c), and a build's tree is registered
 * only once its entries are logged. So at the shutdown checkpoint C the trees hold exactly
 * what the WAL before C holds for them. The sidecar may be behind C; the worker applies the
 * WAL up to the end before any index answers, to RocksDB only, since on a primary the trees
 * already have it.
 *
 * The image is used only when all of these hold; otherwise it is removed and the trees load
 * from the sidecar as before:
 *   - it was sealed: the last postmaster ended after a clean shutdown of a primary (pg_control
 *     said DB_SHUTDOWNED) and the worker did not own the trees (a promotion in progress);
 *     a crash, an immediate stop or a crash restart never write one;
 *   - pg_control still names the sealed checkpoint, with the same system identifier: the
 *     data directory was not restored, rewound or replaced meanwhile;
 *   - the server does not start in recovery (no standby.signal, recovery.signal or
 *     backup_label): in recovery the worker applies the WAL to the trees itself;
 *   - the same alexidx library (size, inode, modification time), alexidx.memory and
 *     alexidx.max_indexes, and the old address is free;
 *   - the sidecar is as the worker closed it at that shutdown: the same RocksDB sequence
 *     number (every write raises it), so nothing wrote to it offline;
 *   - the worker finds every listed build ready in the sidecar, in the same database, and
 *     the arena holds little besides the listed trees.
 *
 * Cost: the shutdown writes and syncs the arena's used pages (about 20 bytes per entry); at
 * start the worker copies them in the background (about 0.15 s per 10M entries from the page
 * cache), during which changes to alexidx indexes and requests to the worker wait.
 * alexidx.keep_trees = off skips both.
 */
#include "postgres.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "alexidx.h"
#include "shared/ipc.h"

#define ARENA_IMAGE_MAGIC "alexidx arena 3"
/* relative to the data directory, the postmaster's working directory */
#define ARENA_IMAGE "pg_alexidx/pgsql_tmp_arena"
#define ARENA_IMAGE_NEW "pg_alexidx/pgsql_tmp_arena.new"
/* where a new mapping goes when it can: far from the heap and from the usual mmap area */
#define ARENA_ADDRESS_HINT ((void *) (uintptr_t) 0x300000000000ULL)

typedef struct KeptTree
{
	uint64		build_id;
	Oid			dboid;
	AxTreePair *pair;			/* in the arena, as the trees it points to */
} KeptTree;

/* The start of the mapping (and of the image); the arena's heap follows at header_bytes(). */
typedef struct ArenaFileHeader
{
	char		magic[16];
	char		library[128];	/* which alexidx.so laid the trees out */
	uint64		system_identifier;
	uintptr_t	base;			/* the address it is mapped at */
	Size		heap_size;
	int			max_trees;
	uint32		sealed;			/* in an image: written completely */
	XLogRecPtr	checkpoint;		/* pg_control's checkpoint when the image was written */
	uint64		sidecar_at;		/* the sidecar's RocksDB sequence number then */
	int			ntrees;
	KeptTree	trees[FLEXIBLE_ARRAY_MEMBER];
} ArenaFileHeader;

bool		alexidx_keep_trees = true;

static ArenaFileHeader *header = NULL;
static Size mapped_bytes = 0;
static int	arena_fd = -1;		/* the memfd; -1: anonymous memory, no image */
/*
 * The image this server started from, open read-write (the worker empties it once copied):
 * while on_image, this process maps it read-only where the memfd should be. Both are
 * inherited from the postmaster.
 */
static int	image_fd = -1;
static bool on_image = false;

static Size
header_bytes(void)
{
	return TYPEALIGN(4096, offsetof(ArenaFileHeader, trees) + sizeof(KeptTree) * alexidx_max_indexes);
}

/* Identifies the library: a rebuilt or upgraded alexidx.so may lay trees out differently. */
static void
library_identity(char *out, size_t len)
{
	Dl_info		info;
	struct stat st;

	if (dladdr((void *) library_identity, &info) == 0 || info.dli_fname == NULL ||
		stat(info.dli_fname, &st) != 0)
	{
		snprintf(out, len, "unknown");
		return;
	}
	snprintf(out, len, "%s %lld %llu %lld.%09ld", ALEXIDX_VERSION, (long long) st.st_size,
			 (unsigned long long) st.st_ino, (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/* Reads pg_control; NULL if it cannot be trusted. */
static ControlFileData *
read_control_file(void)
{
	bool		crc_ok = false;
	ControlFileData *cf = get_controlfile(DataDir, &crc_ok);

	return crc_ok ? cf : NULL;
}

static bool
starts_in_recovery(void)
{
	struct stat st;

	return stat("standby.signal", &st) == 0 || stat("recovery.signal", &st) == 0 ||
		stat("backup_label", &st) == 0;
}

/* Can this server take the image whose header is h? Says why not in *why. */
static bool
image_usable(int fd, ArenaFileHeader *h, Size total, const char **why)
{
	char		lib[128];
	struct stat st;
	ControlFileData *cf;

	library_identity(lib, sizeof(lib));
	if (pread(fd, h, sizeof(*h), 0) != sizeof(*h) || fstat(fd, &st) != 0)
		*why = "it could not be read";
	else if ((h->magic[sizeof(h->magic) - 1] = '\0', strcmp(h->magic, ARENA_IMAGE_MAGIC) != 0) ||
			 !h->sealed)
		*why = "it was not written completely";
	else if ((h->library[sizeof(h->library) - 1] = '\0', strcmp(h->library, lib) != 0))
		*why = "another alexidx library wrote it";
	else if ((Size) st.st_size != total || h->heap_size + header_bytes() != total ||
			 h->max_trees != alexidx_max_indexes)
		*why = "alexidx.memory or alexidx.max_indexes changed";
	else if (starts_in_recovery())
		*why = "the server starts in recovery";
	else if ((cf = read_control_file()) == NULL)
		*why = "pg_control could not be read";
	else if (cf->system_identifier != h->system_identifier || cf->state != DB_SHUTDOWNED ||
			 cf->checkPoint != h->checkpoint)
		*why = "the data directory changed since it was written";
	else
		return true;
	return false;
}

/*
 * Copies the ranges of [from, total) that hold data in extents_fd (SEEK_DATA) between the
 * mapping at base and io_fd at the same offsets: into memory (to_memory) or out to io_fd.
 * Into memory, the kernel copies from the image straight into the memfd behind the mapping
 * (sendfile): no page faults, no zeroing of pages about to be overwritten.
 */
static bool
copy_extents(int extents_fd, int io_fd, char *base, Size from, Size total, bool to_memory)
{
	off_t		off = lseek(extents_fd, (off_t) from, SEEK_DATA);

	while (off >= 0 && (Size) off < total)
	{
		off_t		end = lseek(extents_fd, off, SEEK_HOLE);

		if (end < 0 || (Size) end > total)
			end = (off_t) total;
		while (off < end)
		{
			ssize_t		n;

			if (to_memory)
			{
				off_t		in = off;

				n = lseek(arena_fd, off, SEEK_SET) == off ? sendfile(arena_fd, io_fd, &in, end - off) : -1;
			}
			else
				n = pwrite(io_fd, base + off, end - off, off);
			if (n <= 0)
				return false;
			off += n;
		}
		off = lseek(extents_fd, end, SEEK_DATA);
	}
	/* ENXIO: no data after the last extent */
	return off >= 0 || errno == ENXIO;
}

/* Lists the registered trees in the header (postmaster, at exit: nothing else runs). */
static void
list_trees(void)
{
	HASH_SEQ_STATUS seq;
	AxIndexEntry *entry;

	header->ntrees = 0;
	hash_seq_init(&seq, alexidx_registry);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		KeptTree   *k;

		if (entry->pair == NULL || header->ntrees >= header->max_trees)
			continue;
		k = &header->trees[header->ntrees++];
		k->build_id = entry->build_id;
		k->dboid = entry->dboid;
		k->pair = entry->pair;
	}
}

/*
 * Writes the image (postmaster, at exit after a clean shutdown): the used pages, a sync, then
 * the sealed header, a sync, and the rename that makes it the image.
 */
static void
write_image(const ControlFileData *cf)
{
	int			fd;
	bool		ok;
	TimestampTz start = GetCurrentTimestamp();

	list_trees();
	header->checkpoint = cf->checkPoint;
	header->sidecar_at = alexidx_shared->sidecar_closed_at;
	header->sealed = 0;
	fd = open(ARENA_IMAGE_NEW, O_CREAT | O_TRUNC | O_WRONLY, S_IRUSR | S_IWUSR);
	ok = fd >= 0 && ftruncate(fd, (off_t) mapped_bytes) == 0 &&
		copy_extents(arena_fd, fd, (char *) header, header_bytes(), mapped_bytes, false) &&
		pg_fdatasync(fd) == 0;
	if (ok)
	{
		header->sealed = 1;
		ok = pwrite(fd, header, header_bytes(), 0) == (ssize_t) header_bytes() &&
			pg_fdatasync(fd) == 0;
		header->sealed = 0;
	}
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (ok && rename(ARENA_IMAGE_NEW, ARENA_IMAGE) == 0)
	{
		struct stat st;

		fsync_fname_ext("pg_alexidx", true, false, LOG);
		ereport(LOG, (errmsg("alexidx: wrote the arena's %d trees to \"%s\" for the next start (%lld MB, %ld ms)",
							 header->ntrees, ARENA_IMAGE,
							 stat(ARENA_IMAGE, &st) == 0 ? (long long) st.st_blocks / 2048 : -1LL,
							 (long) TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()))));
		return;
	}
	ereport(LOG, (errcode_for_file_access(),
				  errmsg("alexidx: could not write \"%s\", the trees will load from the sidecar: %m",
						 ARENA_IMAGE_NEW)));
	unlink(ARENA_IMAGE_NEW);
}

/* Maps the memfd where this process mapped the image; false (and a LOG) if it cannot. */
static bool
map_memfd_over_image(void)
{
	if (mmap(header, mapped_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, arena_fd, 0) !=
		(void *) header)
	{
		ereport(LOG, (errmsg("alexidx: could not map the arena's memory: %m")));
		return false;
	}
	on_image = false;
	return true;
}

void
alexidx_arena_follow(void)
{
	if (!on_image || pg_atomic_read_u32(&alexidx_shared->arena_in_memfd) == 0)
		return;
	pg_read_barrier();
	/* the image stays mapped on failure: this process cannot go on without the trees */
	if (!map_memfd_over_image())
		ereport(FATAL, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("alexidx: could not map the arena's memory: %m")));
}

static bool
kept_trees_taken(void)
{
	return !alexidx_shared->arena_kept;
}

static bool
kept_trees_copied(void)
{
	return pg_atomic_read_u32(&alexidx_shared->arena_in_memfd) != 0;
}

/*
 * Waits, interruptibly, until the sidecar worker has done(); with a time limit, a worker
 * that is still starting after it is taken for one that never started.
 */
static void
wait_for_worker(bool (*done) (void), bool time_limit)
{
	TimestampTz since = time_limit ? GetCurrentTimestamp() : 0;

	while (!done())
	{
		alexidx_check_worker(since);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 2,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	pg_read_barrier();
}

void
alexidx_arena_wait_kept_taken(void)
{
	/* the worker takes them right after it opens the sidecar */
	wait_for_worker(kept_trees_taken, true);
}

bool
alexidx_arena_writable(void)
{
	return !on_image;
}

void
alexidx_arena_wait_writable(void)
{
	if (!on_image)
		return;
	/* the copy is the worker's own job: it changes nothing in the arena before it */
	if (alexidx_am_sidecar_worker && !kept_trees_copied())
		ereport(FATAL, (errmsg_internal("alexidx sidecar: a change to the arena before the kept trees were copied")));
	/* once a worker took them (it opened the sidecar), it copies them: no time limit */
	wait_for_worker(kept_trees_taken, true);
	wait_for_worker(kept_trees_copied, false);
	alexidx_arena_follow();
}

/* At postmaster exit, and before a crash restart makes shared memory anew. */
static void
arena_at_exit(int code, Datum arg)
{
	bool		in_memfd;

	if (header == NULL)
		return;
	/* the trees are in the memfd only once the worker copied them out of the image */
	in_memfd = !on_image ||
		(pg_atomic_read_u32(&alexidx_shared->arena_in_memfd) != 0 && map_memfd_over_image());
	if (arena_fd >= 0 && code == 0 && in_memfd &&
		pg_atomic_read_u32(&alexidx_shared->worker_owns_trees) == 0)
	{
		ControlFileData *cf = read_control_file();

		/* the worker closed the sidecar cleanly: the image can name its state */
		if (cf != NULL && cf->state == DB_SHUTDOWNED &&
			cf->system_identifier == header->system_identifier &&
			alexidx_shared->sidecar_closed_at != 0)
			write_image(cf);
	}
	munmap(header, mapped_bytes);
	header = NULL;
	if (arena_fd >= 0)
		close(arena_fd);
	arena_fd = -1;
	if (image_fd >= 0)
		close(image_fd);
	image_fd = -1;
	on_image = false;
}

/* Maps total bytes of shared memory (fd -1: anonymous) at want if it is free; NULL: none. */
static char *
map_memory(int fd, void *want, Size total)
{
	int			flags = MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0);
	char	   *base = mmap(want, total, PROT_READ | PROT_WRITE, flags | MAP_FIXED_NOREPLACE, fd, 0);

	if (base != MAP_FAILED && base != (char *) want)
	{
		/* a kernel that ignores MAP_FIXED_NOREPLACE treats the address as a hint */
		munmap(base, total);
		base = MAP_FAILED;
	}
	/* an image's address or nothing; a new arena may go anywhere */
	if (base == MAP_FAILED && want != ARENA_ADDRESS_HINT)
		return NULL;
	if (base == MAP_FAILED)
		base = mmap(NULL, total, PROT_READ | PROT_WRITE, flags, fd, 0);
	return base == MAP_FAILED ? NULL : base;
}

/* Lays out an empty arena: the header, then a new heap. */
static void
format_arena(char *base, Size heap_size, uint64 system_identifier)
{
	ArenaFileHeader *h = (ArenaFileHeader *) base;
	AxError		err;

	memset(h, 0, offsetof(ArenaFileHeader, trees));
	strlcpy(h->magic, ARENA_IMAGE_MAGIC, sizeof(h->magic));
	library_identity(h->library, sizeof(h->library));
	h->system_identifier = system_identifier;
	h->base = (uintptr_t) base;
	h->heap_size = heap_size;
	h->max_trees = alexidx_max_indexes;
	if (ax_arena_create(base + header_bytes(), heap_size, &err) != AX_OK)
		elog(FATAL, "alexidx: could not create the shared arena: %s", err.message);
}

/*
 * Postmaster, when it makes shared memory: maps the arena and returns its heap. *kept says
 * that the image of the last clean shutdown is mapped there instead, read-only: the sidecar
 * worker takes its trees (alexidx_arena_take_kept_trees) and copies it into the memfd
 * (alexidx_arena_copy_kept_trees). Otherwise the memfd is mapped and formatted here.
 */
void *
alexidx_arena_map(Size heap_size, bool *kept)
{
	Size		total = add_size(header_bytes(), heap_size);
	ControlFileData *cf = read_control_file();
	const char *why = NULL;
	char	   *base = NULL;
	int			image;
	ArenaFileHeader h;

	*kept = false;
	arena_fd = -1;
	if (alexidx_keep_trees)
	{
		arena_fd = memfd_create("alexidx arena", MFD_CLOEXEC);
		if (arena_fd >= 0 && ftruncate(arena_fd, (off_t) total) != 0)
		{
			close(arena_fd);
			arena_fd = -1;
		}
		if (arena_fd < 0)
			ereport(LOG, (errmsg("alexidx: could not make a memfd for the arena, trees will not be kept across restarts: %m")));
	}
	/* what a postmaster killed while it wrote an image left */
	unlink(ARENA_IMAGE_NEW);
	image = open(ARENA_IMAGE, O_RDWR | O_CLOEXEC);
	if (image >= 0 && arena_fd < 0)
		why = "alexidx.keep_trees is off";
	else if (image >= 0 && image_usable(image, &h, total, &why))
	{
		base = map_memory(arena_fd, (void *) h.base, total);
		if (base == NULL)
			why = "its address is taken";
		/* the image itself, read-only, in the memfd's place until the worker copied it */
		else if (mmap(base, total, PROT_READ, MAP_SHARED | MAP_FIXED, image, 0) != base)
		{
			why = "it could not be mapped";
			munmap(base, total);
			base = NULL;
		}
		else
		{
			*kept = true;
			on_image = true;
			image_fd = image;
			image = -1;
		}
	}
	if (image >= 0)
	{
		close(image);
		if (why)
		{
			ereport(LOG, (errmsg("alexidx: not taking the trees in \"%s\": %s", ARENA_IMAGE, why)));
			unlink(ARENA_IMAGE);
		}
	}
	if (base == NULL)
		base = map_memory(arena_fd, ARENA_ADDRESS_HINT, total);
	if (base == NULL)
		ereport(FATAL, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("alexidx: could not map %zu MB of shared memory: %m", total >> 20),
						errhint("Lower alexidx.memory in postgresql.conf.")));
	header = (ArenaFileHeader *) base;
	mapped_bytes = total;
	on_shmem_exit(arena_at_exit, 0);
	if (!*kept)
		format_arena(base, heap_size, cf ? cf->system_identifier : 0);
	pg_atomic_write_u32(&alexidx_shared->arena_in_memfd, *kept ? 0 : 1);
	return base + header_bytes();
}

static void
fail_arena_copy(void)
{
	ereport(FATAL, (errcode(ERRCODE_OUT_OF_MEMORY),
					errmsg("alexidx sidecar: could not map the arena's memory: %m")));
}

/*
 * The image is not taken (or could not be copied): the worker formats the memfd, and every
 * process maps it at its next use of a tree. No tree of the image stays registered, so
 * nobody reads the image any more.
 */
static void
format_memfd(bool copied_some)
{
	alexidx_unregister_all_trees();
	if (!map_memfd_over_image())
		fail_arena_copy();
	/* a partial copy would hold memory nothing uses */
	if (copied_some &&
		fallocate(arena_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t) mapped_bytes) != 0)
		ereport(LOG, (errmsg("alexidx sidecar: could not free the arena's memory: %m")));
	format_arena((char *) header, alexidx_shared->arena_size, GetSystemIdentifier());
	pg_write_barrier();
	pg_atomic_write_u32(&alexidx_shared->arena_in_memfd, 1);
}

/*
 * Sidecar worker, once the sidecar has every change logged so far and before any index
 * answers: registers the trees of the image the processes map, or, if they cannot be
 * trusted, formats the arena anew so that the trees load from the sidecar. The image's name
 * goes either way (a crash from here on must never find it). Returns how many trees it took;
 * they answer from the image at once, and alexidx_arena_copy_kept_trees makes them writable.
 */
int
alexidx_arena_take_kept_trees(AxDb *sidecar, uint64 opened_at, bool usable)
{
	char	   *heap = alexidx_shared->arena;
	char	   *base = heap - header_bytes();
	ArenaFileHeader *h = (ArenaFileHeader *) base;
	Size		heap_size = alexidx_shared->arena_size;
	Size		tree_bytes = 0;
	const char *why = NULL;
	int			i;
	TimestampTz start = GetCurrentTimestamp();

	if (!alexidx_shared->arena_kept)
		return 0;
	/* an earlier worker decided to take them and died while registering them: finish */
	if (alexidx_shared->arena_taking)
		goto take;
	if (!usable)
		why = "the sidecar was restored or set aside, or the server is in recovery";
	else if (!on_image || h->sealed == 0 || h->base != (uintptr_t) base)
		why = "it changed since the server started";
	else if (h->sidecar_at != opened_at)
		why = "the sidecar changed since it was written";
	else if (h->ntrees < 0 || h->ntrees > h->max_trees || h->max_trees != alexidx_max_indexes)
		why = "its list of trees is damaged";
	for (i = 0; why == NULL && i < h->ntrees; i++)
	{
		KeptTree   *k = &h->trees[i];
		AxBuildRecord rec;
		AxError		err = {0};

		if ((char *) k->pair < heap || (char *) k->pair >= heap + heap_size)
		{
			why = "a tree lies outside the arena";
			break;
		}
		ax_db_get_record(sidecar, k->build_id, &rec, &err);
		if (err.status != AX_OK || rec.state != AX_BUILD_READY || rec.dboid != k->dboid)
		{
			why = "the sidecar does not have one of its builds ready";
			break;
		}
		tree_bytes += ax_pair_memory_bytes(k->pair);
	}
	/* space nobody can free (a tree lost track of) would stay taken run after run */
	if (why == NULL &&
		heap_size - ax_arena_free_bytes(heap) > tree_bytes + tree_bytes / 4 + ((Size) 16 << 20))
		why = "the arena holds more than the listed trees";
	unlink(ARENA_IMAGE);
	fsync_fname_ext("pg_alexidx", true, false, LOG);
	if (why != NULL)
	{
		ereport(LOG, (errmsg("alexidx sidecar: not taking the trees in \"%s\": %s; they load from the sidecar",
							 ARENA_IMAGE, why)));
		/* (a worker that dies in between decides the same again: the checks see the same) */
		format_memfd(false);
		pg_write_barrier();
		alexidx_shared->arena_kept = false;
		return 0;
	}
	/*
	 * Decided: from here a worker that dies is followed by one that finishes registering
	 * (the first one's writes changed the sidecar's sequence number, so the checks above
	 * would now refuse the trees that some backends may already be reading).
	 */
	alexidx_shared->arena_taking = true;
	pg_write_barrier();
take:
	/* (as is: a tree of the image is never freed, which would change the image) */
	for (i = 0; i < h->ntrees; i++)
		if (!alexidx_register_pair_as_is(h->trees[i].build_id, h->trees[i].dboid, h->trees[i].pair))
			ereport(LOG, (errmsg("alexidx sidecar: no registry room for kept build " UINT64_FORMAT,
								 h->trees[i].build_id)));
	pg_write_barrier();
	alexidx_shared->arena_kept = false;
	ereport(LOG, (errmsg("alexidx sidecar: took %d trees kept at the last clean shutdown (%ld ms; they answer from the image until it is copied into memory)",
						 h->ntrees, (long) TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()))));
	return h->ntrees;
}

/* Sidecar worker: are there kept trees still to copy out of the image? */
bool
alexidx_arena_copy_pending(void)
{
	return image_fd >= 0 && !alexidx_shared->arena_kept &&
		pg_atomic_read_u32(&alexidx_shared->arena_in_memfd) == 0;
}

/*
 * Sidecar worker, after alexidx_arena_take_kept_trees, and first thing at its start (a worker
 * that died before it finished is followed by one that does it again before anything else):
 * copies the image into the memfd and says that the arena lives there now, then empties the
 * image. Until then changes wait, and after it every process maps the memfd before it next
 * reads a tree.
 */
void
alexidx_arena_copy_kept_trees(void)
{
	char	   *base = (char *) header;
	TimestampTz start = GetCurrentTimestamp();
	struct stat st;

	if (alexidx_shared->arena_kept || image_fd < 0)
		return;
	/*
	 * Copied by an earlier worker: this one, forked by the postmaster, maps the image still
	 * (emptied, if that worker got so far) and must map the memfd before anything else.
	 */
	if (pg_atomic_read_u32(&alexidx_shared->arena_in_memfd) != 0)
		alexidx_arena_follow();
	else if (!copy_extents(image_fd, image_fd, base, 0, mapped_bytes, true))
	{
		ereport(LOG, (errcode_for_file_access(),
					  errmsg("alexidx sidecar: could not copy the kept trees into memory, they load from the sidecar: %m")));
		format_memfd(true);
	}
	else if (!map_memfd_over_image())
		fail_arena_copy();
	else
	{
		/* the next shutdown's image is sealed only once written completely */
		((ArenaFileHeader *) base)->sealed = 0;
		pg_write_barrier();
		pg_atomic_write_u32(&alexidx_shared->arena_in_memfd, 1);
		ereport(LOG, (errmsg("alexidx sidecar: copied the kept trees into memory in %ld ms",
							 (long) TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()))));
	}
	/* emptied by an earlier worker: nothing left to do (the postmaster keeps its descriptor) */
	if (fstat(image_fd, &st) == 0 && st.st_size == 0)
	{
		close(image_fd);
		image_fd = -1;
		return;
	}
	/* whoever read a tree from the image under its lock is done: nobody maps its pages again */
	alexidx_wait_for_tree_readers();
	if (ftruncate(image_fd, 0) != 0)
		ereport(LOG, (errcode_for_file_access(),
					  errmsg("alexidx sidecar: could not empty the arena image: %m")));
	close(image_fd);
	image_fd = -1;
}
