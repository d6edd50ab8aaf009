/** An appeal is open until trust & safety upholds the decision or overturns it. */
export type AppealStatus = 'open' | 'upheld' | 'overturned';
