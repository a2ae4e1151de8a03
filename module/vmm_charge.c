// SPDX-License-Identifier: GPL-2.0
/*
 * Ownership: per-uid usage records and quotas, the charge of an
 * allocation up its owner's namespace chain, and the calls that change a
 * block's owner or mode.  Part of vmm_arena_unit.c.
 */

#include <linux/bsearch.h>
#include <linux/cred.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "vmm_arena.h"

/* The record of @uid in @root, or NULL. */
static struct vmm_usage *vmm_usage_find(struct rb_root *root, kuid_t uid)
{
	struct rb_node *n = root->rb_node;

	while (n) {
		struct vmm_usage *u = rb_entry(n, struct vmm_usage, node);

		if (uid_lt(uid, u->uid))
			n = n->rb_left;
		else if (uid_gt(uid, u->uid))
			n = n->rb_right;
		else
			return u;
	}
	return NULL;
}

/* Link the zeroed record @u for @uid, which @root lacks, below @parent. */
static struct vmm_usage *vmm_usage_insert(struct vmm_arena *arena,
					  struct rb_root *root,
					  struct vmm_usage *parent,
					  struct vmm_usage *u, kuid_t uid)
{
	struct rb_node **link = &root->rb_node, *prev = NULL;

	lockdep_assert_held(&arena->lock);
	while (*link) {
		struct vmm_usage *cur = rb_entry(*link, struct vmm_usage, node);

		prev = *link;
		link = uid_lt(uid, cur->uid) ? &prev->rb_left : &prev->rb_right;
	}
	u->uid = uid;
	u->parent = parent;
	u->children = RB_ROOT;
	rb_link_node(&u->node, prev, link);
	rb_insert_color(&u->node, root);
	arena->nr_users++;
	return u;
}

/*
 * Whom a block is charged to: @cred's chain of ids, or root for the
 * kernel.  *@n is set to the chain's length.
 */
static const kuid_t *vmm_charge_chain(const struct vmm_cred *cred,
				      unsigned int *n)
{
	static const kuid_t root = GLOBAL_ROOT_UID;

	if (!cred || !cred->nr_charge) {
		*n = 1;
		return &root;
	}
	*n = cred->nr_charge;
	return cred->charge;
}

/*
 * Whether one more block of @size bytes keeps @u (NULL: a record not yet
 * made, which holds nothing) within @max_blocks and the bytes quota.
 */
static bool vmm_quota_allows(struct vmm_arena *arena, struct vmm_usage *u,
			     u64 size, u64 max_blocks)
{
	u64 max_bytes = READ_ONCE(arena->max_bytes_per_uid);
	u64 blocks = u ? u->blocks : 0, bytes = u ? u->bytes : 0;

	if (max_blocks && blocks >= max_blocks)
		return false;
	if (max_bytes && (bytes > max_bytes || size > max_bytes - bytes))
		return false;
	return true;
}

/* The block limit for a caller: the per-uid one, or the unprivileged one. */
static u64 vmm_block_limit(struct vmm_arena *arena,
			   const struct vmm_cred *cred)
{
	u64 max = READ_ONCE(arena->max_blocks_per_uid);
	u64 unpriv = READ_ONCE(arena->max_blocks_unprivileged);

	if (cred && !cred->privileged && unpriv && (!max || unpriv < max))
		return unpriv;
	return max;
}

/* Look the chain up and check every level's quota; see below. */
static int vmm_charge_walk(struct vmm_arena *arena, struct vmm_charge *ch,
			   u64 size, u64 max_blocks)
{
	struct rb_root *root = &arena->users;
	struct vmm_usage *u = NULL;
	unsigned int i;

	lockdep_assert_held(&arena->lock);
	ch->missing = 0;
	for (i = 0; i < ch->n; i++) {
		bool is_root = uid_eq(ch->chain[i], GLOBAL_ROOT_UID);

		u = root ? vmm_usage_find(root, ch->chain[i]) : NULL;
		ch->found[i] = u;
		if (!u)
			ch->missing++;
		/*
		 * Root's record, at the top of every namespace root created,
		 * is bound by the per-uid quota only: the unprivileged limit
		 * of one container's user must not lock out the others.  A
		 * caller who is root but lacks CAP_SYS_ADMIN is bound by it
		 * all the same, on the blocks of root's own.
		 */
		if (!vmm_quota_allows(arena, u, size, is_root ?
				      READ_ONCE(arena->max_blocks_per_uid) :
				      max_blocks))
			return -EDQUOT;
		if (is_root && i == ch->n - 1 && u && max_blocks &&
		    u->own_blocks >= max_blocks)
			return -EDQUOT;
		root = u ? &u->children : NULL;
	}
	return 0;
}

/*
 * Look the chain up and check every level's quota, @max_blocks being the
 * caller's block limit (vmm_block_limit()).  With @ask (a caller not yet
 * asked for privilege), note on a refusal whether privilege would lift
 * it, so that the caller is asked only then: a second walk, on that
 * failure only.  O(levels * log n) under the lock.  Return: 0, or
 * -EDQUOT if any level would exceed one; after a refusal, @ch's found
 * records and missing count mean nothing.
 */
static int vmm_charge_check(struct vmm_arena *arena, struct vmm_charge *ch,
			    u64 size, u64 max_blocks, bool ask)
{
	u64 max = READ_ONCE(arena->max_blocks_per_uid);
	int ret;

	ret = vmm_charge_walk(arena, ch, size, max_blocks);
	ch->liftable = ret && ask && max_blocks != max &&
		       !vmm_charge_walk(arena, ch, size, max);
	return ret;
}

/* Allocate, without the lock, the records vmm_charge_check() found missing. */
static int vmm_charge_prealloc(struct vmm_charge *ch)
{
	while (ch->nr_spares < ch->missing) {
		struct vmm_usage *u;

		u = kzalloc_obj(*u, VMM_GFP_META);
		if (!u)
			return -ENOMEM;
		u->parent = ch->spares;
		ch->spares = u;
		ch->nr_spares++;
	}
	return 0;
}

static struct vmm_usage *vmm_charge_spare(struct vmm_charge *ch)
{
	struct vmm_usage *u = ch->spares;

	ch->spares = u->parent;
	ch->nr_spares--;
	return u;
}

static void vmm_charge_release(struct vmm_charge *ch)
{
	while (ch->nr_spares)
		kfree(vmm_charge_spare(ch));
}

/*
 * Charge @blk along the chain that vmm_charge_check() just looked up,
 * making the missing records from the spares.
 */
static void vmm_charge_commit(struct vmm_arena *arena, struct vmm_charge *ch,
			      struct vmm_block *blk)
{
	struct vmm_usage *parent = NULL, *u = NULL;
	unsigned int i;

	for (i = 0; i < ch->n; i++) {
		u = ch->found[i];
		if (!u)
			u = vmm_usage_insert(arena, parent ? &parent->children :
						    &arena->users, parent,
					     vmm_charge_spare(ch),
					     ch->chain[i]);
		u->blocks++;
		u->bytes += blk->size;
		parent = u;
	}
	u->own_blocks++;
	blk->usage = u;
}

/* The top-level record above @u: the one charged for every block below. */
static struct vmm_usage *vmm_usage_top(struct vmm_usage *u)
{
	while (u->parent)
		u = u->parent;
	return u;
}

/*
 * Uncharge @blk from its record and every one above it; a record goes with
 * its last block (by then its children have gone too).
 */
static void vmm_usage_uncharge(struct vmm_arena *arena, struct vmm_usage *u,
			       u64 size)
{
	struct vmm_usage *parent;

	u->own_blocks--;
	for (; u; u = parent) {
		parent = u->parent;
		u->bytes -= size;
		if (--u->blocks)
			continue;
		rb_erase(&u->node, parent ? &parent->children : &arena->users);
		arena->nr_users--;
		kfree(u);
	}
}

/**
 * vmm_arena_chmod() - change a block's mode
 * @arena: the arena
 * @id: the block
 * @cred: the caller, who must own the block or be CAP_SYS_ADMIN
 * @mode: permission bits within %VMM_MODE_MASK
 *
 * Return: 0, -ENOENT, or -EPERM.
 */
int vmm_arena_chmod(struct vmm_arena *arena, u64 id,
		    const struct vmm_cred *cred, umode_t mode)
{
	struct vmm_block *blk;
	int ret = 0;

	vmm_lock(arena);
	blk = vmm_block_lookup(arena, id);
	if (!blk)
		ret = -ENOENT;
	else if (!vmm_owns(blk, cred))
		ret = -EPERM;
	else
		blk->mode = mode;
	vmm_unlock(arena);
	return ret;
}

static int vmm_gid_cmp(const void *key, const void *elt)
{
	u32 a = __kgid_val(*(const kgid_t *)key);
	u32 b = __kgid_val(*(const kgid_t *)elt);

	return a < b ? -1 : a > b;
}

/*
 * Whether @gid is @cred's effective gid or one of its supplementary groups,
 * as in_egroup_p() says of the running task.  set_groups() keeps a group
 * list sorted by kgid value.
 */
static bool vmm_cred_in_group(const struct vmm_cred *cred, kgid_t gid)
{
	const struct group_info *groups = cred->groups;

	return gid_eq(gid, cred->gid) ||
	       (groups && bsearch(&gid, groups->gid, groups->ngroups,
				  sizeof(gid), vmm_gid_cmp));
}

/* The chown(2) rules: only an admin gives a block away or picks any group. */
static bool vmm_may_chown(const struct vmm_block *blk,
			  const struct vmm_cred *cred, kuid_t uid, kgid_t gid)
{
	if (!cred || cred->admin)
		return true;
	if (!uid_eq(cred->uid, blk->uid))
		return false;
	if (uid_valid(uid) && !uid_eq(uid, blk->uid))
		return false;
	return !gid_valid(gid) || gid_eq(gid, blk->gid) ||
	       vmm_cred_in_group(cred, gid);
}

/**
 * vmm_arena_chown() - change a block's owner and group
 * @arena: the arena
 * @id: the block
 * @cred: the caller, or NULL for the kernel
 * @uid: the new owner, or INVALID_UID to keep it
 * @gid: the new group, or INVALID_GID to keep it
 *
 * The block's charge moves to the new owner, whose usage record, if it
 * has none yet, is allocated without the lock.
 *
 * Return: 0, -ENOENT, -EPERM, -EDQUOT if the new owner would exceed a
 * quota, or -ENOMEM.
 */
int vmm_arena_chown(struct vmm_arena *arena, u64 id,
		    const struct vmm_cred *cred, kuid_t uid, kgid_t gid)
{
	struct vmm_charge ch = { .chain = &uid, .n = 1 };
	struct vmm_usage *old, *top;
	struct vmm_block *blk;
	int ret = 0;

retry:
	vmm_lock(arena);
	blk = vmm_block_lookup(arena, id);
	if (!blk) {
		ret = -ENOENT;
		goto out;
	}
	if (!vmm_may_chown(blk, cred, uid, gid)) {
		ret = -EPERM;
		goto out;
	}
	if (uid_valid(uid) && !uid_eq(uid, blk->uid)) {
		/*
		 * Only an admin gives a block away: no unprivileged limit.
		 * Given to the uid at the top of its chain (the owner of the
		 * outermost namespace it was made under), whose record
		 * already counts it, it leaves that record's totals as they
		 * were, so no quota can refuse it.
		 */
		top = vmm_usage_top(blk->usage);
		if (uid_eq(top->uid, uid)) {
			ch.found[0] = top;
			ch.missing = 0;
		} else {
			ret = vmm_charge_check(arena, &ch, blk->size,
					       READ_ONCE(arena->max_blocks_per_uid),
					       false);
			if (ret)
				goto out;
		}
		if (ch.missing > ch.nr_spares) {
			vmm_unlock(arena);
			ret = vmm_charge_prealloc(&ch);
			if (ret)
				goto out_unlocked;
			goto retry;
		}
		/*
		 * Charge first: the new owner's records may be among the old
		 * ones, which the uncharge could otherwise free.
		 */
		old = blk->usage;
		vmm_charge_commit(arena, &ch, blk);
		vmm_usage_uncharge(arena, old, blk->size);
		blk->uid = uid;
	}
	if (gid_valid(gid))
		blk->gid = gid;
out:
	vmm_unlock(arena);
out_unlocked:
	vmm_charge_release(&ch);
	return ret;
}

/* The top-level record with the lowest uid that is @uid or more, or NULL. */
static struct rb_node *vmm_usage_ceil(struct vmm_arena *arena, u32 uid)
{
	struct rb_node *n = arena->users.rb_node, *ceil = NULL;

	lockdep_assert_held(&arena->lock);
	while (n) {
		struct vmm_usage *u = rb_entry(n, struct vmm_usage, node);

		if (__kuid_val(u->uid) >= uid) {
			ceil = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return ceil;
}

/**
 * vmm_arena_usage() - what each top-level uid holds, in increasing uid order
 * @arena: the arena
 * @start_uid: the lowest uid (in the initial user namespace) to report
 * @out: array of @capacity entries, filled from index 0; uid holds the
 *	kernel's uid value, for the caller to map
 * @capacity: entries @out holds
 * @next_uid: set to the next uid to ask for, or 0 when none is left
 *
 * Looks at %VMM_LIST_HOLD records per hold of the lock, as
 * vmm_arena_list() does blocks: a uid's figures are each from one
 * moment, but two uids' may be from different ones.
 *
 * Return: the number of entries stored.
 */
u32 vmm_arena_usage(struct vmm_arena *arena, u32 start_uid,
		    struct vmm_user_usage *out, u32 capacity, u32 *next_uid)
{
	struct vmm_usage *u;
	struct rb_node *n;
	u32 count = 0;

	*next_uid = 0;
	vmm_lock(arena);
	for (n = vmm_usage_ceil(arena, start_uid); n; n = rb_next(n)) {
		u = rb_entry(n, struct vmm_usage, node);
		if (count == capacity) {
			*next_uid = __kuid_val(u->uid);
			break;
		}
		if (count && !(count % VMM_LIST_HOLD)) {
			u32 uid = __kuid_val(u->uid);

			vmm_unlock(arena);
			cond_resched();
			vmm_lock(arena);
			n = vmm_usage_ceil(arena, uid);
			if (!n)
				break;
			u = rb_entry(n, struct vmm_usage, node);
		}
		memset(&out[count], 0, sizeof(out[count]));
		out[count].uid = __kuid_val(u->uid);
		out[count].blocks = u->blocks;
		out[count].bytes = u->bytes;
		out[count].ns_blocks = u->blocks - u->own_blocks;
		count++;
	}
	vmm_unlock(arena);
	return count;
}
