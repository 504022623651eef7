/*
 * Intrusive doubly-linked circular lists.
 *
 * A struct list_head is embedded in each element and in the list's owner,
 * which serves as the head; an empty list's head points at itself.  Nothing
 * here allocates.  A node that is on no list is kept self-linked (by
 * list_init and list_remove), so removing it twice is harmless.
 *
 *     struct thread { ...; struct list_head run_link; };
 *     LIST_FOR_EACH(t, &run_queue, struct thread, run_link)
 *         ...;
 *
 * The FOR_EACH macros evaluate `head` several times: pass a plain pointer.
 */
#pragma once

#include "types.h"

struct list_head {
    struct list_head *next;
    struct list_head *prev;
};

/* The element holding node, and the node inside element (integer arithmetic
 * only, so the head's bogus "element" is never dereferenced). */
#define LIST_CONTAINER(node, type, member) container_of(node, type, member)
#define LIST_NODE_(elem, type, member) \
    ((struct list_head *) ((uintptr_t) (elem) + offsetof_(type, member)))

static inline void list_init(struct list_head *head) {
    head->next = head;
    head->prev = head;
}

static inline bool list_is_empty(const struct list_head *head) {
    return head->next == head;
}

/* Link node between the adjacent nodes prev and next. */
static inline void list_insert_(struct list_head *node, struct list_head *prev,
                                struct list_head *next) {
    node->prev = prev;
    node->next = next;
    prev->next = node;
    next->prev = node;
}

static inline void list_push_back(struct list_head *head, struct list_head *node) {
    list_insert_(node, head->prev, head);
}

static inline void list_push_front(struct list_head *head, struct list_head *node) {
    list_insert_(node, head, head->next);
}

/* Unlink node from its list and leave it self-linked. */
static inline void list_remove(struct list_head *node) {
    node->prev->next = node->next;
    node->next->prev = node->prev;
    list_init(node);
}

/* Remove and return the first node, or NULL if the list is empty. */
static inline struct list_head *list_pop_front(struct list_head *head) {
    if (list_is_empty(head))
        return NULL;
    struct list_head *node = head->next;
    list_remove(node);
    return node;
}

static inline size_t list_len(const struct list_head *head) {
    size_t n = 0;
    for (const struct list_head *p = head->next; p != head; p = p->next)
        n++;
    return n;
}

/* Declare `type *entry` and visit every element in order. */
#define LIST_FOR_EACH(entry, head, type, member)                                  \
    for (type *entry = LIST_CONTAINER((head)->next, type, member);                \
         LIST_NODE_(entry, type, member) != (head);                               \
         entry = LIST_CONTAINER(LIST_NODE_(entry, type, member)->next, type, member))

/* As LIST_FOR_EACH, but the body may remove (or free) `entry` itself; it must
 * not remove the element after it. */
#define LIST_FOR_EACH_SAFE(entry, head, type, member)                             \
    for (type *entry = LIST_CONTAINER((head)->next, type, member),                \
              *entry##_next_ = LIST_CONTAINER((head)->next->next, type, member);  \
         LIST_NODE_(entry, type, member) != (head);                               \
         entry = entry##_next_,                                                   \
              entry##_next_ = LIST_CONTAINER(LIST_NODE_(entry, type, member)->next, \
                                             type, member))
