/* Host tests of libs/common/list.h. */
#include "check.h"

#include <common/list.h>

struct item {
    int value;
    struct list_head link;  /* not first: container_of must subtract */
    char pad[3];
};

/* Check that head's list holds exactly want[0..n) in order, both ways. */
static bool list_matches(struct list_head *head, const int *want, size_t n) {
    size_t i = 0;
    LIST_FOR_EACH(it, head, struct item, link) {
        if (i >= n || it->value != want[i])
            return false;
        i++;
    }
    if (i != n || list_len(head) != n)
        return false;
    for (struct list_head *p = head->prev; p != head; p = p->prev) {
        if (i == 0 || LIST_CONTAINER(p, struct item, link)->value != want[--i])
            return false;
    }
    return i == 0;
}

TEST(init_is_empty) {
    struct list_head head;
    list_init(&head);
    CHECK(list_is_empty(&head));
    CHECK_EQ_INT(list_len(&head), 0);
    CHECK(list_pop_front(&head) == NULL);
    int visited = 0;
    LIST_FOR_EACH(it, &head, struct item, link) {
        (void) it;
        visited++;
    }
    LIST_FOR_EACH_SAFE(it, &head, struct item, link) {
        (void) it;
        visited++;
    }
    CHECK_EQ_INT(visited, 0);
}

TEST(push_back_and_front_order) {
    struct list_head head;
    struct item items[4] = {{.value = 1}, {.value = 2}, {.value = 3}, {.value = 4}};
    list_init(&head);
    list_push_back(&head, &items[1].link);
    list_push_back(&head, &items[2].link);
    list_push_front(&head, &items[0].link);
    list_push_back(&head, &items[3].link);
    CHECK(!list_is_empty(&head));
    CHECK(list_matches(&head, (int[]){1, 2, 3, 4}, 4));
}

TEST(remove_leaves_node_self_linked) {
    struct list_head head;
    struct item items[3] = {{.value = 1}, {.value = 2}, {.value = 3}};
    list_init(&head);
    for (int i = 0; i < 3; i++)
        list_push_back(&head, &items[i].link);
    list_remove(&items[1].link);
    CHECK(items[1].link.next == &items[1].link && items[1].link.prev == &items[1].link);
    CHECK(list_matches(&head, (int[]){1, 3}, 2));
    list_remove(&items[1].link);  /* removing an unlinked node again is harmless */
    CHECK(list_matches(&head, (int[]){1, 3}, 2));
    list_remove(&items[0].link);
    list_remove(&items[2].link);
    CHECK(list_is_empty(&head));
    CHECK(head.prev == &head);
}

TEST(pop_front_fifo) {
    struct list_head head;
    struct item items[3] = {{.value = 10}, {.value = 20}, {.value = 30}};
    list_init(&head);
    for (int i = 0; i < 3; i++)
        list_push_back(&head, &items[i].link);
    for (int i = 0; i < 3; i++) {
        struct list_head *node = list_pop_front(&head);
        CHECK(node == &items[i].link);
        CHECK(node->next == node);  /* popped nodes are self-linked */
        CHECK_EQ_INT(list_len(&head), 2 - i);
    }
    CHECK(list_pop_front(&head) == NULL);
}

TEST(safe_iteration_removes_every_other) {
    struct list_head head;
    struct item items[7];
    list_init(&head);
    for (int i = 0; i < 7; i++) {
        items[i].value = i;
        list_push_back(&head, &items[i].link);
    }
    LIST_FOR_EACH_SAFE(it, &head, struct item, link) {
        if (it->value % 2 == 0) {
            list_remove(&it->link);
            it->link.next = it->link.prev = NULL;  /* as if freed */
        }
    }
    CHECK(list_matches(&head, (int[]){1, 3, 5}, 3));
    LIST_FOR_EACH_SAFE(it, &head, struct item, link)
        list_remove(&it->link);
    CHECK(list_is_empty(&head));
}

TEST(safe_iteration_on_heap_elements) {
    /* ASan catches any read of a freed element after the body removed it. */
    struct list_head head;
    list_init(&head);
    for (int i = 0; i < 5; i++) {
        struct item *it = malloc(sizeof(*it));
        CHECK(it != NULL);
        it->value = i;
        list_push_back(&head, &it->link);
    }
    int sum = 0;
    LIST_FOR_EACH_SAFE(it, &head, struct item, link) {
        sum += it->value;
        list_remove(&it->link);
        free(it);
    }
    CHECK_EQ_INT(sum, 10);
    CHECK(list_is_empty(&head));
}

TEST(break_leaves_entry) {
    struct list_head head;
    struct item items[4] = {{.value = 5}, {.value = 6}, {.value = 7}, {.value = 8}};
    list_init(&head);
    for (int i = 0; i < 4; i++)
        list_push_back(&head, &items[i].link);
    struct item *found = NULL;
    LIST_FOR_EACH(it, &head, struct item, link) {
        if (it->value == 7) {
            found = it;
            break;
        }
    }
    CHECK(found == &items[2]);
}
